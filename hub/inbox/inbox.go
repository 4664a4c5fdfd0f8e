package inbox

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/api"
	"github.com/karerehub/karere/hub/core"
)

// Prefix is where the inbox is mounted.
const Prefix = "/inbox/"

// DefaultHeartbeat is the interval of the event stream's keep-alive
// comments: under the 30-60 s idle timeouts of common proxies.
const DefaultHeartbeat = 25 * time.Second

// ContentSecurityPolicy is sent with every inbox response. Nothing inline:
// scripts and styles come from files under /inbox/static/.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the inbox.
type Config struct {
	// SecureCookies marks cookies Secure on plain HTTP requests too: set it
	// when the public URL is https (TLS ends at a proxy). Requests that
	// arrive over TLS always get Secure cookies.
	SecureCookies bool
	// Heartbeat between event stream comments (default DefaultHeartbeat).
	Heartbeat time.Duration
	Logger    *slog.Logger
}

// Handler serves the inbox under Prefix. Mount it on "/inbox/".
type Handler struct {
	svc    *core.Services
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static map[string]*asset

	done     chan struct{} // closed by Shutdown: event streams end
	doneOnce sync.Once
}

// Shutdown ends open event streams, so that the HTTP server's graceful
// shutdown need not wait for them. Register it with
// http.Server.RegisterOnShutdown.
func (h *Handler) Shutdown() { h.doneOnce.Do(func() { close(h.done) }) }

// New returns the inbox.
func New(svc *core.Services, cfg Config) *Handler {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), done: make(chan struct{})}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.pages = parsePages()
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	h.static = loadAssets(sub)
	h.routes()
	return h
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /inbox/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inbox/threads", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /inbox/static/{path...}", h.serveStatic)
	h.mux.HandleFunc("GET /inbox/login", h.handle(h.loginPage))
	h.mux.HandleFunc("POST /inbox/login", h.handle(h.login))
	h.mux.HandleFunc("GET /inbox/login/code", h.handle(h.codePage))
	h.mux.HandleFunc("POST /inbox/login/code", h.handle(h.code))
	h.mux.HandleFunc("POST /inbox/logout", h.authed(h.logout))
	h.mux.HandleFunc("GET /inbox/threads", h.authed(h.threads))
	h.mux.HandleFunc("GET /inbox/threads/{id}", h.authed(h.thread))
	h.mux.HandleFunc("POST /inbox/threads/{id}/assign", h.authed(h.assign))
	h.mux.HandleFunc("POST /inbox/threads/{id}/status", h.authed(h.setStatus))
	h.mux.HandleFunc("GET /inbox/patients/{external_id}/deliveries", h.authed(h.deliveries))
	h.mux.HandleFunc("GET /inbox/account/two-step", h.authed(h.twoStep))
	h.mux.HandleFunc("POST /inbox/account/two-step/begin", h.authed(h.twoStepBegin))
	h.mux.HandleFunc("POST /inbox/account/two-step/confirm", h.authed(h.twoStepConfirm))
	h.mux.HandleFunc("POST /inbox/account/two-step/disable", h.authed(h.twoStepDisable))
	h.mux.HandleFunc("GET /inbox/templates", h.authed(h.templatesPage))
	h.mux.HandleFunc("GET /inbox/templates/{kind}/{channel}/{locale}", h.authed(h.templateEdit))
	h.mux.HandleFunc("POST /inbox/templates/{kind}/{channel}/{locale}", h.authed(h.templateSave))
	h.mux.HandleFunc("GET /inbox/events", h.authed(h.events))
	h.mux.HandleFunc("/inbox/", h.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &hub.Error{Kind: hub.KindNotFound, Code: "not_found", Message: "There is no such page."}
	}))
}

// ServeHTTP serves the inbox with its security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	// Pages show patient data: nothing is kept by the browser or a proxy.
	// Static assets override this.
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// handle adapts a handler that may fail; the error is shown as a page.
func (h *Handler) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.renderError(w, r, nil, err)
		}
	}
}

// statusOf is the HTTP status of a page that failed with an error of kind
// k: the API's mapping (api.Status), so a page and an API call answer the
// same condition alike.
func statusOf(k hub.ErrorKind) int { return api.Status(k) }

// renderError shows an error page. A hub.Error keeps its kind's status
// and its message; anything else is a 500 that says nothing of its cause.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	e := hub.AsError(err)
	if statusOf(e.Kind) >= 500 {
		h.log.Error("inbox request failed", "path", r.URL.Path, "err", err)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		e = hub.ErrTooLarge
	}
	msg := e.Message
	if e.Code == "not_found" && msg == "" {
		msg = "Not found."
	}
	status := statusOf(e.Kind)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", api.RetryAfterSeconds(e.RetryAfter))
	}
	h.render(w, r, rq, "error.html", status, pageData{Title: http.StatusText(status), Data: errorView{
		Status: status, Code: e.Code, Message: msg}})
}

type errorView struct {
	Status  int
	Code    string
	Message string
}

// remoteIP is the client's address (api.ClientIP: X-Forwarded-For only
// from a trusted proxy).
func remoteIP(r *http.Request) string { return api.ClientIP(r) }
