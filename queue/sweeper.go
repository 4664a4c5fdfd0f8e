package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
)

// PendingLister pages through pending deliveries (hub/store implements it).
type PendingLister interface {
	ListPendingDeliveries(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]hub.Delivery, error)
}

// Sweeper re-enqueues pending deliveries whose task Redis lost (Redis
// restarted without persistence, FLUSHDB, a crash between commit and
// enqueue). Enqueue is a no-op for tasks Redis still has, so sweeping is
// always safe; Grace keeps it away from deliveries being enqueued now.
type Sweeper struct {
	Store    PendingLister
	Queue    Enqueuer
	Interval time.Duration // default 30 s
	Grace    time.Duration // default 10 s
	Log      *slog.Logger
}

// Enqueuer queues a delivery (Client implements it).
type Enqueuer interface {
	Enqueue(ctx context.Context, d *hub.Delivery) error
}

// Defaults for the sweeper.
const (
	DefaultSweepInterval = 30 * time.Second
	DefaultSweepGrace    = 10 * time.Second
)

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	sweepEvery(ctx, s.Interval, s.Log, "pending deliveries", s.Sweep)
}

// sweepEvery runs sweep every interval (DefaultSweepInterval when 0) until
// ctx ends, logging failures and, at debug level, what it re-queued.
func sweepEvery(ctx context.Context, interval time.Duration, log *slog.Logger, what string, sweep func(context.Context) (int, error)) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := sweep(ctx); err != nil {
				log.Warn("sweep failed", "what", what, "err", err)
			} else if n > 0 {
				log.Debug("sweep re-queued work Redis had lost", "what", what, "count", n)
			}
		}
	}
}

// Sweep makes one pass and returns how many deliveries it enqueued (tasks
// Redis still had count too: Enqueue cannot tell them apart cheaply).
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultSweepGrace
	}
	before := time.Now().Add(-grace)
	after := ""
	n := 0
	for {
		ds, err := s.Store.ListPendingDeliveries(ctx, before, after, 500)
		if err != nil {
			return n, err
		}
		for i := range ds {
			if err := s.Queue.Enqueue(ctx, &ds[i]); err != nil {
				return n, err
			}
			n++
		}
		if len(ds) < 500 {
			return n, nil
		}
		after = ds[len(ds)-1].ID
	}
}
