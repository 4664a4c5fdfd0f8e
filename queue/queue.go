package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/karerehub/karere/hub"
)

// Task types.
const (
	TypeDeliver = "delivery:send"
)

// Queue names and their weights.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueBulk     = "bulk"
)

// Weights gives each queue its share of workers when all have work.
var Weights = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueBulk: 1}

// Defaults.
const (
	// DefaultMaxRetry with a 5 s base and 1 h cap keeps retrying for about
	// eight hours: long enough to ride out a provider outage.
	DefaultMaxRetry  = 14
	DefaultBaseDelay = 5 * time.Second
	DefaultMaxDelay  = time.Hour
	// DefaultTaskTimeout bounds one send (provider calls have their own,
	// shorter timeouts).
	DefaultTaskTimeout = 2 * time.Minute
	// DefaultTaskCheckInterval: an idle Asynq processor sleeps this long
	// before looking again. Asynq's 1 s default made a patient wait up to
	// 1.4 s for a queue (docs/ARCHITECTURE.md, "Latency"); 10 ms costs about 100 idle
	// Redis calls a second per process.
	DefaultTaskCheckInterval = 10 * time.Millisecond
)

type payload struct {
	DeliveryID string `json:"delivery_id"`
}

// QueueFor picks the queue for a delivery: a secure-message notice is
// critical (a patient is waiting for an answer); the bulk queue waits for
// bulk work.
func QueueFor(d *hub.Delivery) string {
	if d.Kind == hub.KindSecureMessageNotice {
		return QueueCritical
	}
	return QueueDefault
}

// Client enqueues deliveries (hub/delivery's Enqueuer).
type Client struct {
	c        *asynq.Client
	maxRetry int
	timeout  time.Duration
}

// NewClient returns a Client on Redis.
func NewClient(r asynq.RedisConnOpt, maxRetry int) *Client {
	if maxRetry <= 0 {
		maxRetry = DefaultMaxRetry
	}
	return &Client{c: asynq.NewClient(r), maxRetry: maxRetry, timeout: DefaultTaskTimeout}
}

// Close closes the Redis connection.
func (c *Client) Close() error { return c.c.Close() }

// Enqueue queues d with its id as task id; a task already queued (pending,
// scheduled, retrying, active or archived) is left as it is.
func (c *Client) Enqueue(ctx context.Context, d *hub.Delivery) error {
	b, _ := json.Marshal(payload{DeliveryID: d.ID})
	opts := []asynq.Option{
		asynq.TaskID(d.ID),
		asynq.Queue(QueueFor(d)),
		asynq.MaxRetry(c.maxRetry),
		asynq.Timeout(c.timeout),
	}
	if !d.NotBefore.IsZero() {
		opts = append(opts, asynq.ProcessAt(d.NotBefore))
	}
	_, err := c.c.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, b), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", d.ID, err)
	}
	return nil
}

// Deliverer sends one delivery (hub/delivery implements it).
type Deliverer interface {
	// Deliver sends the delivery; final is true on the last attempt. A
	// returned error means "retry later" (or, when final, "archive").
	Deliver(ctx context.Context, id string, final bool) error
}

// ServerConfig configures the worker side.
type ServerConfig struct {
	Concurrency       int
	TaskCheckInterval time.Duration
	BaseDelay         time.Duration
	MaxDelay          time.Duration
	ShutdownTimeout   time.Duration
	Logger            asynq.Logger
	LogLevel          asynq.LogLevel
}

// NewServer returns an Asynq server whose handler calls d for each
// delivery task. Start it with Start(mux) or Run(mux); see Handler.
func NewServer(r asynq.RedisConnOpt, cfg ServerConfig) *asynq.Server {
	if cfg.TaskCheckInterval <= 0 {
		cfg.TaskCheckInterval = DefaultTaskCheckInterval
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 25 * time.Second
	}
	level := cfg.LogLevel
	if level == 0 {
		level = asynq.WarnLevel
	}
	return asynq.NewServer(r, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   Weights,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           Backoff(cfg.BaseDelay, cfg.MaxDelay),
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   cfg.Logger,
		LogLevel:                 level,
	})
}

// Backoff returns exponential backoff with jitter: attempt n waits
// between half and all of base·2ⁿ, capped at max.
func Backoff(base, max time.Duration) asynq.RetryDelayFunc {
	return func(n int, _ error, _ *asynq.Task) time.Duration {
		d := max
		if n < 40 {
			if e := base << n; e > 0 && e < max {
				d = e
			}
		}
		half := d / 2
		return half + time.Duration(rand.Int64N(int64(half)+1))
	}
}

// Handler returns the mux that routes tasks: deliveries to d, reminders to
// r and webhook events to w (r and w may be nil: no such tasks are
// handled).
func Handler(d Deliverer, r ReminderFirer, w WebhookSender) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeDeliver, func(ctx context.Context, t *asynq.Task) error {
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.DeliveryID == "" {
			return fmt.Errorf("queue: bad payload: %w", asynq.SkipRetry)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		return d.Deliver(ctx, p.DeliveryID, retried >= maxRetry)
	})
	handleReminders(mux, r, w) // reminders.go
	return mux
}
