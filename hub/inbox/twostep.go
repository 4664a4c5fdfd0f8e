package inbox

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/karerehub/karere/hub"
)

// enrolment is a new TOTP secret for the page; the otpauth: link is
// trusted (html/template would otherwise blank an unknown scheme).
type enrolment struct {
	Secret string
	URI    template.URL
}

type twoStepView struct {
	Enabled    bool
	Enrolment  *enrolment
	Confirming bool // a code was wrong: ask again
	Error      string
	Done       string
}

func (h *Handler) renderTwoStep(w http.ResponseWriter, r *http.Request, rq *request, status int, v twoStepView) error {
	on, err := h.svc.Identity.TOTPEnabled(r.Context(), rq.sess.PracticeID, rq.staff.ID)
	if err != nil {
		return err
	}
	v.Enabled = on
	h.render(w, r, rq, "twostep.html", status, pageData{Title: "Two-step sign-in", Page: "account", Nav: "account", Data: v})
	return nil
}

func (h *Handler) twoStep(w http.ResponseWriter, r *http.Request, rq *request) error {
	v := twoStepView{}
	switch r.URL.Query().Get("done") {
	case "on":
		v.Done = "Two-step sign-in is on. You will be asked for a code each time you sign in."
	case "off":
		v.Done = "Two-step sign-in is off."
	}
	return h.renderTwoStep(w, r, rq, http.StatusOK, v)
}

// twoStepBegin shows a new secret once (it is rendered, not redirected
// to, so it never sits in a URL or the history).
func (h *Handler) twoStepBegin(w http.ResponseWriter, r *http.Request, rq *request) error {
	e, err := h.svc.Identity.BeginTOTP(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	return h.renderTwoStep(w, r, rq, http.StatusOK, twoStepView{Enrolment: &enrolment{Secret: e.Secret, URI: template.URL(e.URI)}})
}

func (h *Handler) twoStepConfirm(w http.ResponseWriter, r *http.Request, rq *request) error {
	err := h.svc.Identity.ConfirmTOTP(r.Context(), rq.actor, r.PostFormValue("code"))
	var he *hub.Error
	if errors.As(err, &he) && he.Kind == hub.KindInvalid {
		return h.renderTwoStep(w, r, rq, http.StatusBadRequest, twoStepView{Error: he.Message, Confirming: true})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/inbox/account/two-step?done=on", http.StatusSeeOther)
	return nil
}

func (h *Handler) twoStepDisable(w http.ResponseWriter, r *http.Request, rq *request) error {
	err := h.svc.Identity.DisableTOTP(r.Context(), rq.actor, r.PostFormValue("code"))
	var he *hub.Error
	if errors.As(err, &he) && he.Kind == hub.KindInvalid {
		return h.renderTwoStep(w, r, rq, http.StatusBadRequest, twoStepView{Error: he.Message})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/inbox/account/two-step?done=off", http.StatusSeeOther)
	return nil
}
