// Package reminders runs appointments and what they send: reminders
// planned from the practice's offsets around quiet hours (plan.go, pure and
// table tested), scheduled on the queue and fired at their time unless the
// appointment changed meanwhile; Y/N confirmations answered by SMS and
// reported to the PMS; cancellation notices; and prescription-ready
// alerts, which name no medicine.
package reminders

import (
	"context"
	"log/slog"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/settings"
)

// Store keeps appointments and reminders (hub/store implements it).
type Store interface {
	hub.Transactor

	hub.PracticeReader
	hub.PatientReader
	// FindPatientsByPhone lists a practice's patients with this E.164
	// number, their own or their guardian's (a Y/N answer's sender).
	FindPatientsByPhone(ctx context.Context, practiceID, phone string) ([]hub.Patient, error)
	CreateNotice(ctx context.Context, n *hub.Notice) error
	// a Y/N answer is applied once per provider message id
	hub.InboundClaimer

	// CreateAppointment inserts a; hub.ErrConflict when the practice has an
	// appointment with a.ExternalID already.
	CreateAppointment(ctx context.Context, a *hub.Appointment) error
	// UpdateAppointment writes every mutable field of a, provided the
	// stored row still has version prevVersion (optimistic concurrency):
	// hub.ErrNoRows when it is missing or was changed meanwhile.
	UpdateAppointment(ctx context.Context, a *hub.Appointment, prevVersion int) error
	// GetAppointment reads a practice's appointment by external id.
	GetAppointment(ctx context.Context, practiceID, externalID string) (*hub.Appointment, error)
	// GetAppointmentByID reads an appointment by Karere's id; practiceID
	// "" reads any practice's (the worker's view).
	GetAppointmentByID(ctx context.Context, practiceID, id string) (*hub.Appointment, error)

	// CreateReminder inserts r (r.ID is its task id); hub.ErrConflict when
	// it exists.
	CreateReminder(ctx context.Context, r *hub.Reminder) error
	// GetReminder reads a reminder; practiceID "" reads any practice's
	// (the worker's view).
	GetReminder(ctx context.Context, practiceID, id string) (*hub.Reminder, error)
	// UpdateReminder writes State, NoticeID, DeliveryID, Note, SentAt and
	// Updated, provided the stored state is still fromState: hub.ErrNoRows
	// otherwise (another worker moved it first).
	UpdateReminder(ctx context.Context, r *hub.Reminder, fromState string) error
	// ListReminders lists an appointment's reminders by fire time.
	ListReminders(ctx context.Context, practiceID, appointmentID string) ([]hub.Reminder, error)
	// LatestConfirmableReminder returns the most recently sent reminder
	// that asked one of patientIDs for a confirmation and whose
	// appointment is booked and starts after now; hub.ErrNoRows when none.
	LatestConfirmableReminder(ctx context.Context, practiceID string, patientIDs []string, now time.Time) (*hub.Reminder, error)
}

// Scheduler puts reminders on the queue at their fire time (package queue
// implements it). Both methods are safe to repeat: the database is the
// source of truth, and a sweeper schedules again what Redis lost.
type Scheduler interface {
	// ScheduleReminder queues r's task to run at r.FireAt, with task id
	// r.ID. A task with that id already queued is left as it is (nil).
	ScheduleReminder(ctx context.Context, r *hub.Reminder) error
	// UnscheduleReminder deletes r's task; one that is missing is nil. A
	// task that cannot be deleted (running now) stays: it finds the
	// reminder cancelled and does nothing.
	UnscheduleReminder(ctx context.Context, r *hub.Reminder) error
}

// Planner plans a delivery of a notice to a patient, in the transaction
// ctx carries (hub/delivery implements it).
type Planner interface {
	Plan(ctx context.Context, a hub.Actor, p *hub.Patient, recordID, kind string, chans []string) (*hub.Delivery, error)
}

// Hooks tells the practice's PMS about an answer (hub/pmshooks
// implements it).
type Hooks interface {
	Emit(ctx context.Context, practiceID, typ string, data any) error
}

// Settings gives a practice's reminder settings (hub/settings implements
// it).
type Settings interface {
	ReminderConfig(ctx context.Context, practiceID string) (settings.ReminderConfig, error)
}

// Config is what a Service needs besides its collaborators.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs appointments, reminders and prescription alerts.
type Service struct {
	store    Store
	sched    Scheduler
	plan     Planner
	hooks    Hooks
	settings Settings
	audit    *audit.Log
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service.
func New(store Store, sched Scheduler, plan Planner, hooks Hooks, set Settings, log *audit.Log, cfg Config) *Service {
	s := &Service{store: store, sched: sched, plan: plan, hooks: hooks, settings: set, audit: log, log: cfg.Logger, now: cfg.Now}
	s.log, s.now = hub.OrDefaults(s.log, s.now)
	return s
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// policy is the planning policy of a practice's settings in its zone loc.
func policy(c settings.ReminderConfig, loc *time.Location) ReminderPolicy {
	return ReminderPolicy{Offsets: c.Offsets, QuietStart: c.QuietStart, QuietEnd: c.QuietEnd, Location: loc}
}
