package inbox

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/templating"
	"github.com/karerehub/karere/templates"
)

// The template editor: the practice's message templates, each edited with
// a live preview (the page's script posts drafts to
// POST /v1/templates/preview as the text changes; without the script the
// form still saves and the page shows the saved preview).

type templateRow struct {
	Kind, Channel, Locale string
	Version               int
	Default               bool
	URL                   string
}

type templatesView struct {
	Rows []templateRow
}

func templateURL(kind, channel, locale string) string {
	return "/inbox/templates/" + url.PathEscape(kind) + "/" + url.PathEscape(channel) + "/" + url.PathEscape(locale)
}

func (h *Handler) templatesPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	vs, err := h.svc.Templates.ListTemplates(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	v := templatesView{}
	for _, t := range vs {
		v.Rows = append(v.Rows, templateRow{Kind: t.Kind, Channel: t.Channel, Locale: t.Locale, Version: t.Version,
			Default: t.Default, URL: templateURL(t.Kind, t.Channel, t.Locale)})
	}
	h.render(w, r, rq, "templates.html", http.StatusOK, pageData{Title: "Templates", Page: "templates", Nav: "templates", Data: v})
	return nil
}

type templateEditView struct {
	Kind, Channel, Locale string
	Email                 bool
	Version               int
	Default               bool
	Subject, Body, HTML   string
	Preview               *previewView
	Error                 string
	Saved                 int
	Fields                []templates.FieldDoc
	Action                string
}

type previewView struct {
	Rendered, Subject string
	Segments          int
	Encoding          string
	MaxSegments       int
}

func (h *Handler) templateEdit(w http.ResponseWriter, r *http.Request, rq *request) error {
	kind, channel, locale := r.PathValue("kind"), r.PathValue("channel"), r.PathValue("locale")
	t, err := h.svc.Templates.GetTemplate(r.Context(), rq.actor, kind, channel, locale)
	if err != nil {
		return err
	}
	v := templateEditView{Kind: t.Kind, Channel: t.Channel, Locale: t.Locale, Email: t.Channel == hub.ChannelEmail,
		Version: t.Version, Default: t.Default, Subject: t.Subject, Body: t.Body, HTML: t.HTML,
		Action: templateURL(t.Kind, t.Channel, t.Locale)}
	v.Saved, _ = strconv.Atoi(r.URL.Query().Get("saved"))
	return h.renderTemplateEdit(w, r, rq, http.StatusOK, v, templating.PreviewInput{Kind: t.Kind, Channel: t.Channel, Locale: t.Locale})
}

func (h *Handler) renderTemplateEdit(w http.ResponseWriter, r *http.Request, rq *request, status int, v templateEditView, in templating.PreviewInput) error {
	v.Fields = templates.Fields()
	if pv, err := h.svc.Templates.PreviewTemplate(r.Context(), rq.actor, in); err == nil {
		v.Preview = &previewView{Rendered: pv.Rendered.Text, Subject: pv.Rendered.Subject, MaxSegments: pv.MaxSegments}
		if pv.SMS != nil {
			v.Preview.Segments, v.Preview.Encoding = pv.SMS.Segments, pv.SMS.Encoding
		}
	} else if v.Error == "" {
		v.Error = hub.AsError(err).Message
	}
	h.render(w, r, rq, "template.html", status, pageData{Title: "Template " + v.Kind + " " + v.Channel + " " + v.Locale,
		Page: "template", Nav: "templates", Data: v})
	return nil
}

func (h *Handler) templateSave(w http.ResponseWriter, r *http.Request, rq *request) error {
	kind, channel, locale := r.PathValue("kind"), r.PathValue("channel"), r.PathValue("locale")
	in := templating.TemplateInput{Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body"), HTML: r.PostFormValue("html")}
	t, err := h.svc.Templates.PutTemplate(r.Context(), rq.actor, kind, channel, locale, in)
	var he *hub.Error
	if errors.As(err, &he) && statusOf(he.Kind) < 500 && he.Kind != hub.KindNotFound {
		v := templateEditView{Kind: kind, Channel: channel, Locale: locale, Email: channel == hub.ChannelEmail,
			Subject: in.Subject, Body: in.Body, HTML: in.HTML, Error: he.Message, Action: templateURL(kind, channel, locale)}
		return h.renderTemplateEdit(w, r, rq, statusOf(he.Kind), v, templating.PreviewInput{Kind: kind, Channel: channel, Locale: locale})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, templateURL(t.Kind, t.Channel, t.Locale)+"?saved="+strconv.Itoa(t.Version), http.StatusSeeOther)
	return nil
}
