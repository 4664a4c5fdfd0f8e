// Package app wires a hubd process from its Config: store, queue, service,
// channels, API, workers and sweeper, started in order and shut down in
// reverse. cmd/hubd parses flags into a Config; tests start an App in
// process against real PostgreSQL and Redis, or SQLite and miniredis.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/channels/email"
	"github.com/karerehub/karere/channels/sms"
	"github.com/karerehub/karere/hub/api"
	"github.com/karerehub/karere/hub/core"
	"github.com/karerehub/karere/hub/inbox"
	"github.com/karerehub/karere/hub/store"
	"github.com/karerehub/karere/internal/netguard"
	"github.com/karerehub/karere/queue"
)

// App is one hubd process: the parts its roles need, started in order
// and shut down in reverse.
type App struct {
	cfg   *Config
	log   *slog.Logger
	dev   bool
	store *store.Store
	redis asynq.RedisConnOpt
	rdb   redis.UniversalClient
	queue *queue.Client
	sched *queue.Scheduler // reminders and outgoing webhooks
	core  *core.Services
	api   *api.Server
	inbox *inbox.Handler // the staff web inbox, under /inbox/
	reg   *prometheus.Registry
	// guard decides which addresses the hub may connect to on a
	// practice's behalf (webhooks, relays, the Twilio base URL).
	guard *netguard.Guard

	mail    *email.Sender
	smtpSrv *email.Server
	httpSrv *http.Server
	httpLn  net.Listener
	smtpLn  net.Listener
	worker  *asynq.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func NewLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens and (unless told not to) migrates the database.
func OpenStore(ctx context.Context, cfg *Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("KARERE_DATABASE_URL: %w", err)
	}
	if cfg.Migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	return st, nil
}

// New wires a process and binds its listeners (so that the target guard
// knows the hub's own addresses, even a port the kernel chose). Nothing is
// served or run until Start.
func New(ctx context.Context, cfg *Config, log *slog.Logger, dev bool) (*App, error) {
	a := &App{cfg: cfg, log: log, dev: dev, reg: prometheus.NewRegistry()}
	var err error
	if a.store, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if a.redis, err = asynq.ParseRedisURI(cfg.RedisURL); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("KARERE_REDIS_URL: %w", err)
	}
	if err := a.listen(); err != nil {
		a.close()
		return nil, err
	}
	if a.guard, err = a.targetGuard(); err != nil {
		a.close()
		return nil, err
	}
	log.Info("outbound target policy", "policy", a.guard.String())
	a.rdb = a.redis.MakeRedisClient().(redis.UniversalClient)
	a.queue = queue.NewClient(a.redis, cfg.MaxRetry)

	a.sched = queue.NewScheduler(a.redis, cfg.MaxRetry)
	if a.core, err = a.buildCore(); err != nil {
		a.close()
		return nil, err
	}
	in := inbound{a.core}
	webhooks := sms.NewWebhooks(sms.WebhooksConfig{PublicURL: cfg.PublicURL, Hub: in, Logger: log})
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.reg.MustRegister(newStatsCollector(a.store, asynq.NewInspectorFromRedisClient(a.rdb)))
	a.reg.MustRegister(signInMetrics(a.core.Identity)...)
	a.api = api.New(a.core, api.Config{
		Dev:            dev,
		RatePerSecond:  cfg.RateLimit,
		TrustedProxies: cfg.trustedProxies,
		Registerer:     a.reg,
		Logger:         log,
		Ready:          a.Ready,
	})
	unsub := email.UnsubscribeHandler(cfg.ReplySecret(), a.core.Patients, log)
	a.api.HandleHTTP("GET /v1/unsubscribe/{token}", unsub)
	a.api.HandleHTTP("POST /v1/unsubscribe/{token}", unsub)
	a.api.HandleHTTP("POST "+sms.StatusPath, webhooks.StatusHandler())
	a.api.HandleHTTP("POST "+sms.InboundPath, webhooks.InboundHandler())
	if cfg.OpsToken != "" {
		a.api.HandleHTTP("/ops/queues/", a.opsDashboard())
	}
	a.api.HandleHTTP("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	a.inbox = inbox.New(a.core, inbox.Config{SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), Logger: log})
	a.api.HandleHTTP(inbox.Prefix, a.inbox)
	return a, nil
}

// Ready checks the database and Redis.
func (a *App) Ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Start runs the process's roles.
func (a *App) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(ctx)
	if a.cfg.roles["worker"] {
		a.worker = queue.NewServer(a.redis, queue.ServerConfig{
			Concurrency:       a.cfg.Concurrency,
			TaskCheckInterval: a.cfg.TaskCheckInterval,
			BaseDelay:         a.cfg.RetryBase,
			MaxDelay:          a.cfg.RetryMax,
			ShutdownTimeout:   a.cfg.ShutdownTimeout,
			Logger:            asynqLogger{a.log},
		})
		if err := a.worker.Start(queue.Handler(a.core.Delivery, a.core.Reminders, a.core.Hooks)); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		sw := &queue.Sweeper{Store: a.store, Queue: a.queue, Interval: a.cfg.SweepInterval, Grace: a.cfg.SweepGrace, Log: a.log}
		a.wg.Add(1)
		go func() { defer a.wg.Done(); sw.Run(ctx) }()
		rsw := &queue.ReminderSweeper{Store: a.store, Scheduler: a.sched, Interval: a.cfg.SweepInterval, Grace: a.cfg.SweepGrace, Log: a.log}
		a.wg.Add(1)
		go func() { defer a.wg.Done(); rsw.Run(ctx) }()
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.janitor(ctx) }()
	}
	if a.smtpLn != nil {
		scfg := email.ServerConfig{Addr: a.cfg.SMTPAddr, Domains: []string{a.cfg.ReplyDomain}, ReplySecret: a.cfg.ReplySecret(),
			Logger: a.log, MaxConnections: a.cfg.SMTPMaxConnections, ConnectionsPerMinute: a.cfg.SMTPConnectionsPerMinute}
		if scfg.ConnectionsPerMinute == 0 {
			scfg.ConnectionsPerMinute = -1 // no limit
		}
		if a.cfg.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
			if err != nil {
				return fmt.Errorf("KARERE_TLS_CERT/KARERE_TLS_KEY: %w", err)
			}
			scfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		if err := scfg.Validate(); err != nil {
			return err
		}
		ln := a.smtpLn
		a.smtpSrv = email.NewServer(scfg, inbound{a.core})
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.smtpSrv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				a.log.Error("smtp server stopped", "err", err)
			}
		}()
	}
	if ln := a.httpLn; ln != nil {
		a.httpSrv = &http.Server{
			Handler:           a.api,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
		}
		a.httpSrv.RegisterOnShutdown(a.inbox.Shutdown) // end event streams
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("http server stopped", "err", err)
			}
		}()
	}
	return nil
}

// listen binds the listeners of the process's roles: the API's, and the
// inbound SMTP server's when a reply domain is set.
func (a *App) listen() error {
	if a.cfg.roles["api"] {
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("KARERE_HTTP_ADDR: %w", err)
		}
		a.httpLn = ln
	}
	if a.cfg.roles["smtp"] && a.cfg.ReplyDomain != "" {
		ln, err := net.Listen("tcp", a.cfg.SMTPAddr)
		if err != nil {
			return fmt.Errorf("KARERE_SMTP_ADDR: %w", err)
		}
		a.smtpLn = ln
	}
	return nil
}

// targetGuard builds the policy for connections made on a practice's
// behalf: the operator's allow-list, and the hub's own addresses refused
// (the listeners this process bound, and the configured HTTP and SMTP
// addresses, on which the deployment's other processes listen). `hubd
// dev` allows everything: it binds loopback, sends SMS and email only to
// the outbox, and a developer's PMS for webhooks is usually on localhost.
func (a *App) targetGuard() (*netguard.Guard, error) {
	if a.dev {
		return netguard.AllowAll(), nil
	}
	var own []string
	for _, ln := range []net.Listener{a.httpLn, a.smtpLn} {
		if ln != nil {
			own = append(own, ln.Addr().String())
		}
	}
	for _, addr := range []string{a.cfg.HTTPAddr, a.cfg.SMTPAddr} {
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" {
			own = append(own, addr)
		}
	}
	gc := netguard.Config{Allow: a.cfg.allowed, Listeners: own}
	if a.cfg.Resolver != nil {
		gc.Resolver = a.cfg.Resolver
	}
	g, err := netguard.New(gc)
	if err != nil {
		return nil, fmt.Errorf("the hub's own addresses (KARERE_HTTP_ADDR, KARERE_SMTP_ADDR): %w", err)
	}
	return g, nil
}

// janitor removes old idempotency keys (kept a day, as Stripe does).
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.core.Idempotency.Expire(ctx, time.Now().Add(-24*time.Hour)); err != nil {
				a.log.Warn("idempotency cleanup failed", "err", err)
			}
		}
	}
}

// URL is where the API listens, for printing.
func (a *App) URL() string {
	if a.httpLn == nil {
		return ""
	}
	addr := a.httpLn.Addr().String()
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		addr = "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return "http://" + addr
}

// Shutdown stops taking work, lets in-flight work finish (bounded by
// ShutdownTimeout) and closes connections, in that order.
func (a *App) Shutdown(ctx context.Context) {
	if a.httpSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := a.httpSrv.Shutdown(sctx); err != nil {
			a.log.Warn("http shutdown", "err", err)
		}
		cancel()
	}
	if a.smtpSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := a.smtpSrv.Shutdown(sctx); err != nil {
			a.log.Warn("smtp shutdown", "err", err)
		}
		cancel()
	}
	if a.worker != nil {
		a.worker.Shutdown() // waits for in-flight tasks, hands the rest back to Redis
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	a.close()
}

func (a *App) close() {
	// Listeners Start never served (a failed start); closing a served
	// one again is harmless.
	for _, ln := range []net.Listener{a.httpLn, a.smtpLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if a.mail != nil {
		a.mail.Close()
	}
	if a.queue != nil {
		a.queue.Close()
	}
	if a.sched != nil {
		a.sched.Close()
	}
	if a.rdb != nil {
		a.rdb.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}

// asynqLogger sends Asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Error(args ...any) { l.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Fatal(args ...any) {
	l.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}

// SMTPAddr is where the inbound SMTP server listens ("" when it doesn't).
func (a *App) SMTPAddr() string {
	if a.smtpLn == nil {
		return ""
	}
	return a.smtpLn.Addr().String()
}

// Core is the process's hub services.
func (a *App) Core() *core.Services { return a.core }

// Store is the process's store.
func (a *App) Store() *store.Store { return a.store }

// API is the HTTP API, for adding routes before Start.
func (a *App) API() *api.Server { return a.api }

// Queue is the process's queue client.
func (a *App) Queue() *queue.Client { return a.queue }

// Redis is a client on the queue's Redis.
func (a *App) Redis() redis.UniversalClient { return a.rdb }

// RedisOpt is the queue's Redis connection option.
func (a *App) RedisOpt() asynq.RedisConnOpt { return a.redis }
