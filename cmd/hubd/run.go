package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/channels/outbox"
	"github.com/karerehub/karere/channels/portal"
	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/api"
	"github.com/karerehub/karere/hub/store"
	"github.com/karerehub/karere/queue"
)

// app is one hubd process: the parts its roles need, started in order
// and shut down in reverse.
type app struct {
	cfg   *Config
	log   *slog.Logger
	dev   bool
	store *store.Store
	redis asynq.RedisConnOpt
	rdb   redis.UniversalClient
	queue *queue.Client
	svc   *hub.Service
	api   *api.Server
	reg   *prometheus.Registry

	httpSrv *http.Server
	httpLn  net.Listener
	worker  *asynq.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens and (unless told not to) migrates the database.
func openStore(ctx context.Context, cfg *Config) (*store.Store, error) {
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

// newApp wires a process. Nothing listens or runs until start.
func newApp(ctx context.Context, cfg *Config, log *slog.Logger, dev bool) (*app, error) {
	a := &app{cfg: cfg, log: log, dev: dev, reg: prometheus.NewRegistry()}
	var err error
	if a.store, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if a.redis, err = asynq.ParseRedisURI(cfg.RedisURL); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("KARERE_REDIS_URL: %w", err)
	}
	a.rdb = a.redis.MakeRedisClient().(redis.UniversalClient)
	a.queue = queue.NewClient(a.redis, cfg.MaxRetry)

	var outboxLog *slog.Logger
	if dev {
		outboxLog = log
	}
	chans := map[string]hub.Channel{
		hub.ChannelOutbox: outbox.New(a.store, outboxLog),
		hub.ChannelPortal: portal.New(a.store, nil),
	}
	a.svc, err = hub.NewService(a.store, a.queue, hub.Config{SecretKey: cfg.secretKey, Channels: chans, Logger: log})
	if err != nil {
		a.close()
		return nil, err
	}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.reg.MustRegister(newStatsCollector(a.store, asynq.NewInspectorFromRedisClient(a.rdb)))
	a.api = api.New(a.svc, api.Config{
		Dev:           dev,
		RatePerSecond: cfg.RateLimit,
		Registerer:    a.reg,
		Logger:        log,
		Ready:         a.ready,
	})
	a.api.HandleHTTP("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	return a, nil
}

// ready checks the database and Redis.
func (a *app) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// start runs the process's roles.
func (a *app) start(ctx context.Context) error {
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
		if err := a.worker.Start(queue.Handler(a.svc)); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		sw := &queue.Sweeper{Store: a.store, Queue: a.queue, Interval: a.cfg.SweepInterval, Log: a.log}
		a.wg.Add(1)
		go func() { defer a.wg.Done(); sw.Run(ctx) }()
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.janitor(ctx) }()
	}
	if a.cfg.roles["api"] {
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("KARERE_HTTP_ADDR: %w", err)
		}
		a.httpLn = ln
		a.httpSrv = &http.Server{
			Handler:           a.api,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
		}
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

// janitor removes old idempotency keys (kept a day, as Stripe does).
func (a *app) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.store.DeleteIdempotencyKeysBefore(ctx, time.Now().Add(-24*time.Hour)); err != nil {
				a.log.Warn("idempotency cleanup failed", "err", err)
			}
		}
	}
}

// httpURL is where the API listens, for printing.
func (a *app) httpURL() string {
	if a.httpLn == nil {
		return ""
	}
	addr := a.httpLn.Addr().String()
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		addr = "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return "http://" + addr
}

// shutdown stops taking work, lets in-flight work finish (bounded by
// ShutdownTimeout) and closes connections, in that order.
func (a *app) shutdown(ctx context.Context) {
	if a.httpSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := a.httpSrv.Shutdown(sctx); err != nil {
			a.log.Warn("http shutdown", "err", err)
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

func (a *app) close() {
	if a.queue != nil {
		a.queue.Close()
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
