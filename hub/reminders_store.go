package hub

import (
	"context"
	"time"
)

// ReminderStore is the part of Store for appointments, reminders,
// prescriptions and outgoing webhooks.
type ReminderStore interface {
	// CreateAppointment inserts a; ErrConflict when the practice has an
	// appointment with a.ExternalID already.
	CreateAppointment(ctx context.Context, a *Appointment) error
	// UpdateAppointment writes every mutable field of a, provided the
	// stored row still has version prevVersion (optimistic concurrency):
	// ErrNoRows when it is missing or was changed meanwhile.
	UpdateAppointment(ctx context.Context, a *Appointment, prevVersion int) error
	// GetAppointment reads a practice's appointment by external id.
	GetAppointment(ctx context.Context, practiceID, externalID string) (*Appointment, error)
	// GetAppointmentByID reads an appointment by Karere's id; practiceID
	// "" reads any practice's (the worker's view).
	GetAppointmentByID(ctx context.Context, practiceID, id string) (*Appointment, error)

	// CreateReminder inserts r (r.ID is its task id); ErrConflict when it
	// exists.
	CreateReminder(ctx context.Context, r *Reminder) error
	// GetReminder reads a reminder; practiceID "" reads any practice's
	// (the worker's view).
	GetReminder(ctx context.Context, practiceID, id string) (*Reminder, error)
	// UpdateReminder writes State, NoticeID, DeliveryID, Note, SentAt and
	// Updated, provided the stored state is still fromState: ErrNoRows
	// otherwise (another worker moved it first).
	UpdateReminder(ctx context.Context, r *Reminder, fromState string) error
	// ListReminders lists an appointment's reminders by fire time.
	ListReminders(ctx context.Context, practiceID, appointmentID string) ([]Reminder, error)
	// ListScheduledReminders pages through scheduled reminders of every
	// practice firing in [from, to), ordered by id, after afterID.
	ListScheduledReminders(ctx context.Context, from, to time.Time, afterID string, limit int) ([]Reminder, error)
	// LatestConfirmableReminder returns the most recently sent reminder
	// that asked one of patientIDs for a confirmation and whose
	// appointment is booked and starts after now; ErrNoRows when none.
	LatestConfirmableReminder(ctx context.Context, practiceID string, patientIDs []string, now time.Time) (*Reminder, error)

	CreateWebhookEvent(ctx context.Context, e *WebhookEvent) error
	// GetWebhookEvent reads an event; practiceID "" reads any practice's
	// (the worker's view).
	GetWebhookEvent(ctx context.Context, practiceID, id string) (*WebhookEvent, error)
	// UpdateWebhookEvent writes State, Attempts, LastError and Updated.
	UpdateWebhookEvent(ctx context.Context, e *WebhookEvent) error
	// ListWebhookEvents lists a practice's events, newest first.
	ListWebhookEvents(ctx context.Context, practiceID string, limit int) ([]WebhookEvent, error)
	// ListPendingWebhookEvents pages through pending events of every
	// practice last updated before updatedBefore, ordered by id.
	ListPendingWebhookEvents(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]WebhookEvent, error)
}
