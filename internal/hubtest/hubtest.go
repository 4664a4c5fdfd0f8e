// Package hubtest starts a whole hub in process for end-to-end tests: the
// real App (store, queue, workers, API on a loopback port) against real
// PostgreSQL and Redis, or against SQLite and miniredis, the embedded
// default. Tests then talk to it over HTTP like any integrator.
package hubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/dnstest"
	"github.com/karerehub/karere/internal/testenv"
)

// Backends.
const (
	Postgres = "postgres" // real PostgreSQL (fresh schema) + real Redis
	SQLite   = "sqlite"   // SQLite file + miniredis, as `hubd dev` runs
)

// Backends lists both, for table tests.
var Backends = []string{Postgres, SQLite}

// Options choose what to start.
type Options struct {
	Backend string // Postgres or SQLite
	RedisDB int    // the package's Redis database (Postgres backend)
	// Configure may change the configuration before the App is built.
	Configure func(*app.Config)
	// Before runs after New and before Start (to add routes or channels).
	Before func(*app.App)
}

// Hub is a running hub.
type Hub struct {
	App      *app.App
	Config   *app.Config
	URL      string
	Key      string // a live API key of Practice
	Practice *hub.Practice
	Mini     *miniredis.Miniredis // SQLite backend only
	RedisURL string
	// DNS resolves names for the hub's target guard: a name a test does
	// not Set does not resolve (no test reaches the real DNS).
	DNS *dnstest.Server
	t   testing.TB
}

// LoopbackTargets is the allow-list hubtest gives the hub's target guard.
const LoopbackTargets = "127.0.0.0/8,::1/128"

// Start starts a hub and stops it when the test ends.
func Start(t testing.TB, o Options) *Hub {
	t.Helper()
	cfg := &app.Config{}
	cfg.BindFlags(flagSetNoEnv())
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.PublicURL = "http://127.0.0.1"
	cfg.RetryBase = 100 * time.Millisecond
	cfg.RetryMax = 2 * time.Second
	cfg.SweepInterval = time.Second
	cfg.RateLimit = 1e6 // tests post fast; TestRateLimit sets its own
	// The fake providers and PMSes of tests listen on loopback, which the
	// target policy refuses by default: allow it, as an on-premises
	// deployment allows its PMS, rather than turning the policy off. A
	// test of the default policy sets "" in Configure.
	cfg.AllowedPrivateTargets = LoopbackTargets
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	h := &Hub{Config: cfg, t: t, DNS: dnstest.Start(t, nil)}
	cfg.Resolver = h.DNS.Resolver()
	logw := newTestWriter(t)
	switch o.Backend {
	case Postgres:
		cfg.DatabaseURL = testenv.PostgresSchema(t)
		testenv.Redis(t, o.RedisDB)
		cfg.RedisURL = testenv.RedisURL(o.RedisDB)
	case SQLite:
		cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "karere.db")
		h.Mini = miniredis.RunT(t)
		cfg.RedisURL = "redis://" + h.Mini.Addr() + "/0"
	default:
		t.Fatalf("hubtest: unknown backend %q", o.Backend)
	}
	h.RedisURL = cfg.RedisURL
	if o.Configure != nil {
		o.Configure(cfg)
	}
	if err := cfg.Validate(true, true); err != nil {
		t.Fatalf("hubtest: %v", err)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, log, false)
	if err != nil {
		t.Fatalf("hubtest: %v", err)
	}
	if o.Before != nil {
		o.Before(a)
	}
	if err := a.Start(ctx); err != nil {
		a.Shutdown(ctx)
		t.Fatalf("hubtest: start: %v", err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	h.App, h.URL = a, a.URL()
	p, k, err := a.Core().Directory.CreatePractice(ctx, "Kōwhai Health", hub.DefaultTimeZone, hub.ModeLive)
	if err != nil {
		t.Fatalf("hubtest: create practice: %v", err)
	}
	h.Practice, h.Key = p, k
	return h
}

// NewPractice creates another practice and returns its id and live key.
func (h *Hub) NewPractice(name string, mode hub.KeyMode) (string, string) {
	h.t.Helper()
	p, k, err := h.App.Core().Directory.CreatePractice(context.Background(), name, hub.DefaultTimeZone, mode)
	if err != nil {
		h.t.Fatalf("hubtest: create practice: %v", err)
	}
	return p.ID, k
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it can't.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of an error answer.
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do calls the API with key (h.Key when empty). body may be nil, a string
// or []byte (sent as is), or a value (sent as JSON). headers are pairs.
func (h *Hub) Do(method, path, key string, body any, headers ...string) *Response {
	h.t.Helper()
	if key == "" {
		key = h.Key
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.t.Fatalf("request: %v", err)
	}
	if key != "-" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustDo is Do that fails the test unless the status is want.
func (h *Hub) MustDo(want int, method, path string, body any, headers ...string) *Response {
	h.t.Helper()
	r := h.Do(method, path, "", body, headers...)
	if r.Status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// WaitFor polls cond until it is true or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// testWriter sends logs to t.Log until the test is over (goroutines that
// log later must not panic the test binary).
type testWriter struct {
	t    testing.TB
	mu   *sync.Mutex
	done *bool
}

func newTestWriter(t testing.TB) testWriter {
	w := testWriter{t: t, mu: &sync.Mutex{}, done: new(bool)}
	t.Cleanup(func() { w.mu.Lock(); *w.done = true; w.mu.Unlock() })
	return w
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
