package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/karerehub/karere/hub"
)

// Task types of reminders and outgoing webhooks.
const (
	// TypeReminderFire runs one reminder at its fire time (ProcessAt),
	// task id = reminder id ("rem_<appointment>_<offset>_v<version>").
	TypeReminderFire = "reminder:fire"
	// TypeWebhookSend posts one event to a practice's PMS, task id =
	// event id.
	TypeWebhookSend = "webhook:send"
)

// reminderPayload names a reminder by its parts; the handler re-reads the
// appointment and compares the version.
type reminderPayload struct {
	AppointmentID string `json:"appointment_id"`
	Offset        string `json:"offset"` // "48h", as hub.OffsetLabel writes it
	Version       int    `json:"version"`
}

type webhookPayload struct {
	EventID string `json:"event_id"`
}

// ReminderFirer runs reminder tasks (hub/reminders implements it).
type ReminderFirer interface {
	// FireReminder sends the reminder unless it is stale (a no-op); an
	// error means "retry later".
	FireReminder(ctx context.Context, appointmentID string, offset time.Duration, version int) error
}

// WebhookSender posts webhook events (hub/pmshooks implements it).
type WebhookSender interface {
	// SendWebhook posts the event; final is true on the last attempt. A
	// hub.PermanentError means "never retry" (the task is archived).
	SendWebhook(ctx context.Context, id string, final bool) error
}

// handleReminders adds the handlers of reminder and webhook tasks (of
// those given: a nil one is left out).
func handleReminders(mux *asynq.ServeMux, f ReminderFirer, w WebhookSender) {
	if f != nil {
		mux.HandleFunc(TypeReminderFire, func(ctx context.Context, t *asynq.Task) error {
			var p reminderPayload
			if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AppointmentID == "" {
				return fmt.Errorf("queue: bad reminder payload: %w", asynq.SkipRetry)
			}
			off, err := time.ParseDuration(p.Offset)
			if err != nil {
				return fmt.Errorf("queue: bad reminder offset: %w", asynq.SkipRetry)
			}
			return f.FireReminder(ctx, p.AppointmentID, off, p.Version)
		})
	}
	if w != nil {
		mux.HandleFunc(TypeWebhookSend, func(ctx context.Context, t *asynq.Task) error {
			var p webhookPayload
			if err := json.Unmarshal(t.Payload(), &p); err != nil || p.EventID == "" {
				return fmt.Errorf("queue: bad webhook payload: %w", asynq.SkipRetry)
			}
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			err := w.SendWebhook(ctx, p.EventID, retried >= maxRetry)
			if hub.IsPermanent(err) {
				return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
			}
			return err
		})
	}
}

// Scheduler schedules reminders and queues webhook events on Asynq (the
// Scheduler of hub/reminders and the Queue of hub/pmshooks).
type Scheduler struct {
	c        *asynq.Client
	insp     *asynq.Inspector
	maxRetry int
}

// NewScheduler returns a Scheduler on Redis.
func NewScheduler(r asynq.RedisConnOpt, maxRetry int) *Scheduler {
	if maxRetry <= 0 {
		maxRetry = DefaultMaxRetry
	}
	return &Scheduler{c: asynq.NewClient(r), insp: asynq.NewInspector(r), maxRetry: maxRetry}
}

// Close closes the Redis connections.
func (s *Scheduler) Close() error {
	return errors.Join(s.c.Close(), s.insp.Close())
}

// ScheduleReminder puts r's task in the scheduled set for r.FireAt (a
// fire time already past runs at once). A task with r's id already
// queued is left as it is.
func (s *Scheduler) ScheduleReminder(ctx context.Context, r *hub.Reminder) error {
	b, _ := json.Marshal(reminderPayload{AppointmentID: r.AppointmentID, Offset: hub.OffsetLabel(r.Offset), Version: r.Version})
	return s.enqueue(ctx, asynq.NewTask(TypeReminderFire, b), r.ID, asynq.ProcessAt(r.FireAt))
}

// UnscheduleReminder deletes r's task. A task already gone is fine; one
// that is running cannot be deleted (an error), and finds its reminder
// cancelled.
func (s *Scheduler) UnscheduleReminder(ctx context.Context, r *hub.Reminder) error {
	err := s.insp.DeleteTask(QueueDefault, r.ID)
	if err == nil || errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	return fmt.Errorf("queue: delete reminder task %s: %w", r.ID, err)
}

// EnqueueWebhook queues e's send.
func (s *Scheduler) EnqueueWebhook(ctx context.Context, e *hub.WebhookEvent) error {
	b, _ := json.Marshal(webhookPayload{EventID: e.ID})
	return s.enqueue(ctx, asynq.NewTask(TypeWebhookSend, b), e.ID)
}

func (s *Scheduler) enqueue(ctx context.Context, t *asynq.Task, id string, opts ...asynq.Option) error {
	opts = append(opts, asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(s.maxRetry),
		asynq.Timeout(DefaultTaskTimeout))
	_, err := s.c.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", id, err)
	}
	return nil
}

// ReminderLister pages through the work the ReminderSweeper re-queues
// (hub/store implements it).
type ReminderLister interface {
	ListScheduledReminders(ctx context.Context, from, to time.Time, afterID string, limit int) ([]hub.Reminder, error)
	ListPendingWebhookEvents(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]hub.WebhookEvent, error)
}

// ReminderRequeuer queues reminders and webhook events again (Scheduler
// implements it).
type ReminderRequeuer interface {
	ScheduleReminder(ctx context.Context, r *hub.Reminder) error
	EnqueueWebhook(ctx context.Context, e *hub.WebhookEvent) error
}

// Defaults for the ReminderSweeper.
const (
	// DefaultReminderHorizon: reminders firing within it get their task
	// made again if Redis lost it. Tasks further out are left until they
	// come within it, so that a sweep touches only the next minutes' work.
	DefaultReminderHorizon = 10 * time.Minute
	// DefaultReminderLookback: a reminder whose task was lost shortly
	// before its fire time still goes, late; older ones are left (a
	// reminder hours late is worse than none; the appointment's GET
	// shows it still scheduled).
	DefaultReminderLookback = time.Hour
)

// ReminderSweeper re-schedules scheduled reminders whose task Redis lost
// and re-queues pending webhook events, like Sweeper does for
// deliveries. Task ids make it idempotent: a task Redis still has is
// left as it is.
type ReminderSweeper struct {
	Store     ReminderLister
	Scheduler ReminderRequeuer
	Interval  time.Duration // default DefaultSweepInterval
	Horizon   time.Duration // default DefaultReminderHorizon
	Lookback  time.Duration // default DefaultReminderLookback
	Grace     time.Duration // for webhook events, default DefaultSweepGrace
	Log       *slog.Logger
	Now       func() time.Time
}

// Run sweeps every Interval until ctx ends.
func (s *ReminderSweeper) Run(ctx context.Context) {
	sweepEvery(ctx, s.Interval, s.Log, "reminders and webhook events", s.Sweep)
}

// Sweep makes one pass and returns how many reminders and events it
// (re-)queued.
func (s *ReminderSweeper) Sweep(ctx context.Context) (int, error) {
	horizon, lookback, grace := s.Horizon, s.Lookback, s.Grace
	if horizon <= 0 {
		horizon = DefaultReminderHorizon
	}
	if lookback <= 0 {
		lookback = DefaultReminderLookback
	}
	if grace <= 0 {
		grace = DefaultSweepGrace
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	n := 0
	for after := ""; ; {
		rs, err := s.Store.ListScheduledReminders(ctx, now.Add(-lookback), now.Add(horizon), after, 500)
		if err != nil {
			return n, err
		}
		for i := range rs {
			if err := s.Scheduler.ScheduleReminder(ctx, &rs[i]); err != nil {
				return n, err
			}
			n++
		}
		if len(rs) < 500 {
			break
		}
		after = rs[len(rs)-1].ID
	}
	for after := ""; ; {
		es, err := s.Store.ListPendingWebhookEvents(ctx, now.Add(-grace), after, 500)
		if err != nil {
			return n, err
		}
		for i := range es {
			if err := s.Scheduler.EnqueueWebhook(ctx, &es[i]); err != nil {
				return n, err
			}
			n++
		}
		if len(es) < 500 {
			return n, nil
		}
		after = es[len(es)-1].ID
	}
}
