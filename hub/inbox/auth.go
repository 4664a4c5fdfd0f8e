package inbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/api"
	"github.com/karerehub/karere/hub/identity"
)

// Cookies and limits.
const (
	// loginCookie carries the sign-in form's double-submit token: there is
	// no session yet to hold a CSRF token, and a forged sign-in (into the
	// attacker's account) is still an attack.
	loginCookie  = "karere_login"
	maxFormBytes = 64 << 10
)

// request is a signed-in staff member's request.
type request struct {
	sess     *hub.Session
	staff    *hub.Staff
	practice *hub.Practice
	actor    hub.Actor
}

// authed wraps a handler for signed-in staff: it finds the session (a
// GET without one goes to the sign-in page) and, for any other method,
// checks the CSRF token in the form field "csrf" or the X-CSRF-Token
// header.
func (h *Handler) authed(fn func(w http.ResponseWriter, r *http.Request, rq *request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, err := h.session(w, r)
		if err != nil {
			if r.Method == http.MethodGet && errors.Is(err, identity.ErrNoSession) && r.URL.Path != "/inbox/events" {
				http.Redirect(w, r, "/inbox/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if errors.Is(err, errCodeDue) {
				http.Redirect(w, r, "/inbox/login/code", http.StatusSeeOther)
				return
			}
			h.renderError(w, r, nil, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			token := r.Header.Get("X-CSRF-Token")
			if token == "" {
				token = r.PostFormValue("csrf")
			}
			if !rq.sess.CheckCSRF(token) {
				h.renderError(w, r, rq, identity.ErrCSRF)
				return
			}
		}
		if err := fn(w, r, rq); err != nil {
			h.renderError(w, r, rq, err)
		}
	}
}

var errCodeDue = errors.New("inbox: a sign-in code is due")

// session reads the session cookie.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) (*request, error) {
	c, err := r.Cookie(identity.SessionCookie)
	if err != nil {
		return nil, identity.ErrNoSession
	}
	touch := r.Header.Get(identity.BackgroundHeader) == "" && r.URL.Path != "/inbox/events"
	sess, st, err := h.svc.Identity.Session(r.Context(), c.Value, touch)
	if err != nil {
		if errors.Is(err, identity.ErrNoSession) {
			h.clearCookie(w, r, identity.SessionCookie, "/")
		}
		return nil, err
	}
	if sess.MFAPending {
		return nil, errCodeDue
	}
	p, err := h.svc.Directory.Practice(r.Context(), sess.PracticeID)
	if err != nil {
		return nil, err
	}
	return &request{sess: sess, staff: st, practice: p, actor: identity.StaffActor(sess, remoteIP(r))}, nil
}

func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.cfg.SecureCookies }

func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: identity.SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(identity.SessionMaxAge.Seconds())})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, HttpOnly: true, Secure: h.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type loginView struct {
	Email     string
	Next      string
	Token     string
	Error     string
	SignedOut bool
}

// safeNext keeps a post-sign-in redirect inside the inbox.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/inbox/threads"
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) error {
	if rq, err := h.session(w, r); err == nil && rq != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	v := loginView{Next: safeNext(r.URL.Query().Get("next")), SignedOut: r.URL.Query().Has("signed_out")}
	h.renderLogin(w, r, http.StatusOK, v)
	return nil
}

// renderLogin shows the sign-in form with a fresh double-submit token.
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v.Token = base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v.Token, Path: "/inbox/login", HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	h.render(w, r, nil, "login.html", status, pageData{Title: "Sign in", Page: "login", Data: v})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return hub.Invalid("", "bad_form", "the form could not be read")
	}
	v := loginView{Email: strings.TrimSpace(r.PostFormValue("email")), Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	if form := r.PostFormValue("csrf"); err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		v.Error = "The sign-in form had expired. Please try again."
		h.renderLogin(w, r, http.StatusForbidden, v)
		return nil
	}
	si, err := h.svc.Identity.SignIn(r.Context(), v.Email, r.PostFormValue("password"), remoteIP(r))
	switch {
	case errors.Is(err, identity.ErrSignInLocked), errors.Is(err, identity.ErrSignInBusy):
		v.Error = limitMessage(w, err)
		h.renderLogin(w, r, http.StatusTooManyRequests, v)
		return nil
	case errors.Is(err, identity.ErrSignInFailed):
		v.Error = "That email address and password do not match an account."
		h.renderLogin(w, r, http.StatusUnauthorized, v)
		return nil
	case err != nil:
		return err
	}
	h.clearCookie(w, r, loginCookie, "/inbox/login")
	h.setSessionCookie(w, r, si.Token)
	if si.NeedsCode() {
		http.Redirect(w, r, "/inbox/login/code?next="+url.QueryEscape(v.Next), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
	return nil
}

// limitMessage sets Retry-After for a sign-in refused by a limit and
// says what to do.
func limitMessage(w http.ResponseWriter, err error) string {
	e := hub.AsError(err)
	w.Header().Set("Retry-After", api.RetryAfterSeconds(e.RetryAfter))
	if errors.Is(err, identity.ErrSignInBusy) {
		return "Karere is busy with other sign-ins. Try again in a second."
	}
	return "Too many failed sign-ins. Wait " + identity.WaitText(e.RetryAfter) + ", then try again."
}

type codeView struct {
	Next  string
	Error string
}

// pendingSession is the session waiting for a code.
func (h *Handler) pendingSession(r *http.Request) (*hub.Session, error) {
	c, err := r.Cookie(identity.SessionCookie)
	if err != nil {
		return nil, identity.ErrNoSession
	}
	sess, _, err := h.svc.Identity.Session(r.Context(), c.Value, false)
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func (h *Handler) codePage(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.pendingSession(r)
	if err != nil || !sess.MFAPending {
		http.Redirect(w, r, "/inbox/login", http.StatusSeeOther)
		return nil
	}
	h.render(w, r, nil, "code.html", http.StatusOK, pageData{Title: "Sign-in code", Page: "login", CSRF: sess.CSRF,
		Data: codeView{Next: safeNext(r.URL.Query().Get("next"))}})
	return nil
}

func (h *Handler) code(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	sess, err := h.pendingSession(r)
	if err != nil || !sess.MFAPending {
		http.Redirect(w, r, "/inbox/login", http.StatusSeeOther)
		return nil
	}
	if !sess.CheckCSRF(r.PostFormValue("csrf")) {
		return identity.ErrCSRF
	}
	v := codeView{Next: safeNext(r.PostFormValue("next"))}
	c, _ := r.Cookie(identity.SessionCookie)
	si, err := h.svc.Identity.CompleteSignIn(r.Context(), c.Value, r.PostFormValue("code"), remoteIP(r))
	switch {
	case errors.Is(err, identity.ErrSignInLocked):
		// The waiting session stays: the next code works after the wait.
		v.Error = limitMessage(w, err)
		h.render(w, r, nil, "code.html", http.StatusTooManyRequests, pageData{Title: "Sign-in code", Page: "login",
			CSRF: sess.CSRF, Data: v})
		return nil
	case errors.Is(err, identity.ErrSignInFailed):
		v.Error = "That code is not right. Check the app and try the next code."
		h.render(w, r, nil, "code.html", http.StatusUnauthorized, pageData{Title: "Sign-in code", Page: "login",
			CSRF: sess.CSRF, Data: v})
		return nil
	case err != nil:
		return err
	}
	h.setSessionCookie(w, r, si.Token)
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, _ := r.Cookie(identity.SessionCookie)
	if err := h.svc.Identity.SignOut(r.Context(), c.Value, remoteIP(r)); err != nil {
		return err
	}
	h.clearCookie(w, r, identity.SessionCookie, "/")
	http.Redirect(w, r, "/inbox/login?signed_out=1", http.StatusSeeOther)
	return nil
}
