package hub

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// Scheduler puts timed and outgoing work on the queue. Package queue
// implements it on Asynq; the Service receives it with SetScheduler.
// Every method is safe to repeat: the database is the source of truth,
// and a sweeper calls them again for work Redis lost.
type Scheduler interface {
	// ScheduleReminder queues r's task to run at r.FireAt, with task id
	// r.ID. A task with that id already queued is left as it is (nil).
	ScheduleReminder(ctx context.Context, r *Reminder) error
	// UnscheduleReminder deletes r's task; one that is missing is nil. A
	// task that cannot be deleted (running now) stays: it finds the
	// reminder cancelled and does nothing.
	UnscheduleReminder(ctx context.Context, r *Reminder) error
	// EnqueueWebhook queues e's send with task id e.ID (a repeat is nil).
	EnqueueWebhook(ctx context.Context, e *WebhookEvent) error
}

// reminderDeps are the Service's parts for reminders and webhooks.
type reminderDeps struct {
	sched     Scheduler
	minOffset atomic.Int64 // test hook: smallest offset the settings accept; 0 = MinReminderOffset
	client    *http.Client // for outgoing webhooks; nil = webhookClient
}

// SetScheduler sets the scheduler after construction (like SetQueue).
// Without one, reminders are planned and stored but not queued (the
// sweeper queues them once a scheduler is set).
func (s *Service) SetScheduler(sc Scheduler) { s.rem.sched = sc }

func (s *Service) minReminderOffset() time.Duration {
	if d := time.Duration(s.rem.minOffset.Load()); d > 0 {
		return d
	}
	return MinReminderOffset
}

// planAppointmentReminders plans, stores and (after commit) schedules the
// reminders of ap's current version.
func (s *Service) planAppointmentReminders(ctx context.Context, tx Store, ap *Appointment) error {
	cfg, err := s.ReminderConfig(ctx, ap.PracticeID)
	if err != nil {
		return err
	}
	loc, err := s.practiceLocation(ctx, tx, ap.PracticeID)
	if err != nil {
		return err
	}
	now := s.Now()
	var rs []Reminder
	for _, pr := range PlanReminders(ap.Start, now, cfg.Policy(loc)) {
		r := Reminder{ID: ReminderID(ap.ID, pr.Offset, ap.Version), PracticeID: ap.PracticeID, AppointmentID: ap.ID,
			PatientID: ap.PatientID, Offset: pr.Offset, Version: ap.Version, FireAt: pr.FireAt, State: ReminderScheduled,
			AsksConfirmation: cfg.Confirm, Created: now, Updated: now}
		if err := tx.CreateReminder(ctx, &r); err != nil {
			return err
		}
		rs = append(rs, r)
	}
	afterCommit(ctx, func(ctx context.Context) {
		for i := range rs {
			s.schedule(ctx, &rs[i])
		}
	})
	return nil
}

// cancelReminders cancels the scheduled reminders of ap's older versions
// and deletes their tasks after commit.
func (s *Service) cancelReminders(ctx context.Context, tx Store, ap *Appointment) error {
	rs, err := tx.ListReminders(ctx, ap.PracticeID, ap.ID)
	if err != nil {
		return err
	}
	var gone []Reminder
	for _, r := range rs {
		if r.State != ReminderScheduled || r.Version == ap.Version {
			continue
		}
		r.State, r.Note, r.Updated = ReminderCancelled, "appointment changed", s.Now()
		if err := tx.UpdateReminder(ctx, &r, ReminderScheduled); errors.Is(err, ErrNoRows) {
			continue // fired meanwhile
		} else if err != nil {
			return err
		}
		gone = append(gone, r)
	}
	afterCommit(ctx, func(ctx context.Context) {
		if s.rem.sched == nil {
			return
		}
		for i := range gone {
			if err := s.rem.sched.UnscheduleReminder(context.WithoutCancel(ctx), &gone[i]); err != nil {
				// Harmless: the task finds its reminder cancelled.
				s.log.Warn("deleting a stale reminder task", "reminder", gone[i].ID, "err", err)
			}
		}
	})
	return nil
}

// schedule queues a committed reminder; a failure is logged (the sweeper
// schedules it again).
func (s *Service) schedule(ctx context.Context, r *Reminder) {
	if s.rem.sched == nil {
		return
	}
	if err := s.rem.sched.ScheduleReminder(context.WithoutCancel(ctx), r); err != nil {
		s.log.Warn("scheduling a reminder failed; the sweeper will retry", "reminder", r.ID, "err", err)
	}
}

// errStale rolls back a reminder firing that lost a race.
var errStale = errors.New("hub: reminder changed while firing")

// FireReminder runs a reminder task (payload: appointment id, offset,
// version). It does nothing unless the reminder is still scheduled and
// the appointment is still booked at that version and has not started:
// a stale task (the appointment was moved or cancelled) is a no-op. Else
// it records an appointment_reminder notice, plans its delivery on the
// patient's channels, marks the reminder sent and, when the reminder
// asks for a confirmation, the appointment's confirmation pending, all
// in one transaction.
func (s *Service) FireReminder(ctx context.Context, appointmentID string, offset time.Duration, version int) error {
	id := ReminderID(appointmentID, offset, version)
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		r, err := tx.GetReminder(ctx, "", id)
		if errors.Is(err, ErrNoRows) {
			s.log.Warn("reminder task for an unknown reminder: dropped", "reminder", id)
			return nil
		}
		if err != nil {
			return err
		}
		if r.State != ReminderScheduled {
			return nil
		}
		ap, err := tx.GetAppointmentByID(ctx, r.PracticeID, r.AppointmentID)
		if err != nil {
			return err
		}
		now := s.Now()
		skip := func(state, note string) error {
			r.State, r.Note, r.Updated = state, note, now
			if err := tx.UpdateReminder(ctx, r, ReminderScheduled); errors.Is(err, ErrNoRows) {
				return errStale
			} else if err != nil {
				return err
			}
			return nil
		}
		switch {
		case ap.Version != r.Version || ap.Status != AppointmentBooked:
			return skip(ReminderCancelled, "appointment changed")
		case !ap.Start.After(now):
			return skip(ReminderSkipped, "appointment already started")
		}
		p, err := tx.GetPatientByID(ctx, r.PracticeID, ap.PatientID)
		if err != nil {
			return err
		}
		if ch, _ := firstReachable(p, KindAppointmentReminder, p.Channels, s.Now()); ch == "" {
			return skip(ReminderSkipped, "no reachable channel")
		}
		a := Actor{PracticeID: r.PracticeID, ID: "worker", Mode: ap.Mode}
		n := &Notice{ID: NewID(PrefixNotice), PracticeID: r.PracticeID, PatientID: p.ID, Kind: KindAppointmentReminder,
			Data: &NoticeData{AppointmentID: ap.ID, Start: ap.Start, Clinician: ap.Clinician, Location: ap.Location,
				AsksConfirmation: r.AsksConfirmation},
			Channels: p.Channels, Mode: ap.Mode, Created: now}
		if err := tx.CreateNotice(ctx, n); err != nil {
			return err
		}
		d, err := s.planDelivery(ctx, tx, a, p, n.ID, n.Kind, p.Channels)
		if err != nil {
			return err
		}
		r.State, r.NoticeID, r.DeliveryID, r.SentAt, r.Updated = ReminderSent, n.ID, d.ID, &now, now
		if err := tx.UpdateReminder(ctx, r, ReminderScheduled); errors.Is(err, ErrNoRows) {
			return errStale // another worker fired it first: roll this one back
		} else if err != nil {
			return err
		}
		if r.AsksConfirmation && ap.Confirmation == ConfirmationNone {
			ap.Confirmation, ap.Updated = ConfirmationPending, now
			if err := tx.UpdateAppointment(ctx, ap, ap.Version); errors.Is(err, ErrNoRows) {
				return errStale
			} else if err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a, "reminder.sent", p.ID, r.ID)
	})
	if errors.Is(err, errStale) {
		return nil
	}
	return err
}

// AnswerConfirmation applies a Y/N reply from phone to the most recent
// reminder that asked one of the practice's patients with that number,
// provided its appointment is still booked, at the reminder's version,
// and in the future. Y confirms; N declines: the appointment is marked
// declined and the PMS is told (appointment.declined), but Karere does
// not cancel it: the practice decides, and cancels through the API if it
// wants to. Each answer is audited; a webhook event goes out when the
// answer changes the state (a repeated Y sends none). found is false when
// no reminder is waiting (the text is then an ordinary reply).
func (s *Service) AnswerConfirmation(ctx context.Context, practiceID, phone string, yes bool) (bool, error) {
	found := false
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		ps, err := tx.FindPatientsByPhone(ctx, practiceID, phone)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		now := s.Now()
		r, err := tx.LatestConfirmableReminder(ctx, practiceID, ids, now)
		if errors.Is(err, ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ap, err := tx.GetAppointmentByID(ctx, practiceID, r.AppointmentID)
		if err != nil {
			return err
		}
		state, event := ConfirmationDeclined, WebhookAppointmentDeclined
		if yes {
			state, event = ConfirmationConfirmed, WebhookAppointmentConfirmed
		}
		prev := ap.Confirmation
		ap.Confirmation, ap.ConfirmationAt, ap.Updated = state, &now, now
		if err := tx.UpdateAppointment(ctx, ap, ap.Version); err != nil {
			return err
		}
		found = true
		a := Actor{PracticeID: practiceID, ID: "patient:sms", Mode: ap.Mode}
		if err := s.audit(ctx, tx, a, "appointment."+state, ap.PatientID, ap.ID); err != nil {
			return err
		}
		if prev == state {
			return nil
		}
		var patient string
		for _, p := range ps {
			if p.ID == ap.PatientID {
				patient = p.ExternalID
			}
		}
		return s.emitWebhook(ctx, tx, practiceID, event, map[string]any{
			"appointment": ap.ExternalID, "patient": patient, "start": ap.Start, "confirmation": state,
			"answered_at": now, "reminder": r.ID,
		})
	})
	return found, err
}
