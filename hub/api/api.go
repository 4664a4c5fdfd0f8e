package api

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/core"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/messaging"
)

// Config configures the API.
type Config struct {
	// MaxBody bounds JSON request bodies (default 1 MiB).
	MaxBody int64
	// RatePerSecond and Burst limit each API key (defaults 50/s, burst 100).
	RatePerSecond float64
	Burst         int
	// Dev exposes GET /v1/dev/outbox with every practice's outbox.
	Dev bool
	// Ready reports whether backing services answer (GET /readyz); nil:
	// always ready.
	Ready func(ctx context.Context) error
	// TrustedProxies may set X-Forwarded-For (see ClientIP); nil: none,
	// the TCP peer is the client.
	TrustedProxies TrustedProxies
	// Registerer receives the API's metrics; nil: none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	svc  *core.Services
	cfg  Config
	mux  *http.ServeMux
	log  *slog.Logger
	lim  sync.Map // key id -> *rate.Limiter
	reqs *prometheus.CounterVec
	dur  *prometheus.HistogramVec

	xffOnce sync.Once // warns once of X-Forwarded-For with no trusted proxy
}

// New returns the API.
func New(svc *core.Services, cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = 50
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 100
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) error { return nil }
	}
	s := &Server{svc: svc, cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karere_http_requests_total",
		Help: "API requests by route and status."}, []string{"route", "code"})
	s.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "karere_http_request_duration_seconds",
		Help: "API request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.reqs, s.dur)
	}
	s.routes()
	return s
}

// Handler groups: one per subdomain, each with its routes and handlers.
type (
	patientsAPI  struct{ *Server }
	deliveryAPI  struct{ *Server }
	messagingAPI struct{ *Server }
	templatesAPI struct{ *Server }
	remindersAPI struct{ *Server }
	hooksAPI     struct{ *Server }
)

// Handler is a handler that may fail; the error is rendered by writeError.
type Handler func(w http.ResponseWriter, r *http.Request) error

// AuthedHandler is a Handler for an authenticated practice.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, a hub.Actor) error

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.Handle("GET /readyz", func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return hub.ErrUnavailable
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return nil
	})

	patientsAPI{s}.routes()
	deliveryAPI{s}.routes()
	messagingAPI{s}.routes()
	templatesAPI{s}.routes()
	remindersAPI{s}.routes()
	hooksAPI{s}.routes()
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if len(s.cfg.TrustedProxies) == 0 && r.Header.Get("X-Forwarded-For") != "" {
		s.xffOnce.Do(func() {
			s.log.Warn("X-Forwarded-For is ignored: no trusted proxy is configured, so sign-in limits count every " +
				"client behind a proxy as one (set KARERE_TRUSTED_PROXIES to the proxy's address)")
		})
	}
	r = s.cfg.TrustedProxies.withClientAddr(r)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in handler", "route", r.Pattern, "panic", v)
			writeError(sw, r, s.log, &hub.Error{Kind: hub.KindInternal, Code: "internal", Message: "internal error"})
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.reqs.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.dur.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(sw, r, s.log, &hub.Error{Kind: hub.KindNotFound, Code: "no_route",
			Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// Handle adds an unauthenticated route (webhooks bring their own checks).
func (s *Server) Handle(pattern string, h Handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

// HandleHTTP adds a plain http.Handler route.
func (s *Server) HandleHTTP(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Authed adds a route for callers with a practice API key. Mutating
// methods honour Idempotency-Key.
func (s *Server) Authed(pattern string, h AuthedHandler) {
	mutating := !strings.HasPrefix(pattern, "GET ")
	s.Handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if !s.limiter(a.ID).Allow() {
			return hub.ErrRateLimited
		}
		key := r.Header.Get("Idempotency-Key")
		if !mutating || key == "" {
			return h(w, r, a)
		}
		return s.idempotent(w, r, a, key, h)
	})
}

func (s *Server) authenticate(r *http.Request) (hub.Actor, error) {
	auth := r.Header.Get("Authorization")
	if c, err := r.Cookie(identity.SessionCookie); auth == "" && err == nil {
		// A staff member's web inbox: the session cookie, and for a request
		// that changes state the session's CSRF token.
		mutating := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		return s.svc.Identity.AuthenticateSession(r.Context(), c.Value, r.Header.Get("X-CSRF-Token"), mutating,
			r.Header.Get(identity.BackgroundHeader) != "", remoteIP(r))
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return hub.Actor{}, hub.ErrUnauthorized
	}
	return s.svc.Identity.Authenticate(r.Context(), strings.TrimSpace(token), remoteIP(r))
}

func remoteIP(r *http.Request) string { return ClientIP(r) }

func (s *Server) limiter(id string) *rate.Limiter {
	if l, ok := s.lim.Load(id); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.lim.LoadOrStore(id, rate.NewLimiter(rate.Limit(s.cfg.RatePerSecond), s.cfg.Burst))
	return l.(*rate.Limiter)
}

// idempotent runs h at most once per key: the response is recorded in the
// same transaction as h's writes and replayed to later calls.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, a hub.Actor, key string, h AuthedHandler) error {
	limit := s.cfg.MaxBody
	if r.Pattern == "POST /v1/threads/{id}/messages" {
		limit = messaging.MaxMessageBody // the handler's own limit; messages outgrow JSON bodies
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return hub.ErrTooLarge
	}
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	sum.Write(body)
	status, resp, replayed, err := s.svc.Idempotency.Do(r.Context(), a.PracticeID, key, sum.Sum(nil),
		func(ctx context.Context) (int, []byte, error) {
			rec := &recorder{header: http.Header{}}
			r2 := r.WithContext(ctx)
			r2.Body = io.NopCloser(strings.NewReader(string(body)))
			if err := h(rec, r2, a); err != nil {
				return 0, nil, err
			}
			return rec.status, rec.body, nil
		})
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(resp)
	return nil
}

// recorder captures a handler's answer for the idempotency store.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets Server-Sent Events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
