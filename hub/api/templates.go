package api

import (
	"net/http"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/templating"
	"github.com/karerehub/karere/templates"
)

func (s templatesAPI) routes() {
	s.Authed("GET /v1/templates", s.listTemplates)
	s.Authed("GET /v1/templates/fields", s.templateFields)
	s.Authed("POST /v1/templates/preview", s.previewTemplate)
	s.Authed("GET /v1/templates/{kind}/{channel}/{locale}", s.getTemplate)
	s.Authed("PUT /v1/templates/{kind}/{channel}/{locale}", s.putTemplate)
	s.Authed("GET /v1/templates/{kind}/{channel}/{locale}/versions", s.templateVersions)
}

// templateJSON is a template version, or a built-in default ("default":
// true, "version": 0).
type templateJSON struct {
	Kind      string     `json:"kind"`
	Channel   string     `json:"channel"`
	Locale    string     `json:"locale"`
	Version   int        `json:"version"`
	Default   bool       `json:"default"`
	Subject   string     `json:"subject,omitempty"`
	Body      string     `json:"body"`
	HTML      string     `json:"html,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
}

func toTemplateJSON(v *templating.TemplateView) templateJSON {
	out := templateJSON{Kind: v.Kind, Channel: v.Channel, Locale: v.Locale, Version: v.Version, Default: v.Default,
		Subject: v.Subject, Body: v.Body, HTML: v.HTML, CreatedBy: v.CreatedBy}
	if !v.Created.IsZero() {
		t := v.Created
		out.CreatedAt = &t
	}
	return out
}

func templatePath(r *http.Request) (kind, channel, locale string) {
	return r.PathValue("kind"), r.PathValue("channel"), r.PathValue("locale")
}

func (s templatesAPI) getTemplate(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	kind, channel, locale := templatePath(r)
	v, err := s.svc.Templates.GetTemplate(r.Context(), a, kind, channel, locale)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTemplateJSON(v))
	return nil
}

func (s templatesAPI) putTemplate(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in templating.TemplateInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	kind, channel, locale := templatePath(r)
	v, err := s.svc.Templates.PutTemplate(r.Context(), a, kind, channel, locale, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTemplateJSON(v))
	return nil
}

func (s templatesAPI) templateVersions(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	kind, channel, locale := templatePath(r)
	vs, err := s.svc.Templates.TemplateHistory(r.Context(), a, kind, channel, locale, limit)
	if err != nil {
		return err
	}
	out := make([]templateJSON, 0, len(vs))
	for i := range vs {
		out = append(out, toTemplateJSON(&templating.TemplateView{PracticeTemplate: vs[i]}))
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
	return nil
}

func (s templatesAPI) listTemplates(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	vs, err := s.svc.Templates.ListTemplates(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]templateJSON, 0, len(vs))
	for i := range vs {
		out = append(out, toTemplateJSON(&vs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out})
	return nil
}

// templateFields lists the variables templates may use.
func (s templatesAPI) templateFields(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	writeJSON(w, http.StatusOK, map[string]any{"fields": templates.Fields()})
	return nil
}

type previewJSON struct {
	Kind     string `json:"kind"`
	Channel  string `json:"channel"`
	Locale   string `json:"locale"` // the template's: en-NZ when the locale asked for has none
	Draft    bool   `json:"draft"`
	Version  int    `json:"version"` // of the current template previewed; 0 for a draft or a default
	Default  bool   `json:"default"`
	Rendered string `json:"rendered"`
	Subject  string `json:"subject,omitempty"`
	HTML     string `json:"html,omitempty"`
	// SMS only: how the text would be sent, and the practice's limit.
	Segments    int    `json:"segments,omitempty"`
	Encoding    string `json:"encoding,omitempty"`
	Units       int    `json:"units,omitempty"`
	MaxSegments int    `json:"max_segments,omitempty"`
}

func (s templatesAPI) previewTemplate(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in templating.PreviewInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	pv, err := s.svc.Templates.PreviewTemplate(r.Context(), a, in)
	if err != nil {
		return err
	}
	t := pv.Template
	out := previewJSON{Kind: t.Kind, Channel: t.Channel, Locale: t.Locale, Draft: pv.Draft, Version: t.Version,
		Default: t.Default, Rendered: pv.Rendered.Text, Subject: pv.Rendered.Subject, HTML: pv.Rendered.HTML}
	if pv.SMS != nil {
		out.Segments, out.Encoding, out.Units, out.MaxSegments = pv.SMS.Segments, pv.SMS.Encoding, pv.SMS.Units, pv.MaxSegments
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
