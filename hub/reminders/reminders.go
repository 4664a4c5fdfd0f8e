package reminders

import (
	"context"
	"errors"
	"time"

	"github.com/karerehub/karere/hub"
)

// planAppointmentReminders plans, stores and (after commit) schedules the
// reminders of ap's current version.
func (s *Service) planAppointmentReminders(ctx context.Context, ap *hub.Appointment) error {
	cfg, err := s.settings.ReminderConfig(ctx, ap.PracticeID)
	if err != nil {
		return err
	}
	loc, err := s.practiceLocation(ctx, ap.PracticeID)
	if err != nil {
		return err
	}
	now := s.Now()
	var rs []hub.Reminder
	for _, pr := range PlanReminders(ap.Start, now, policy(cfg, loc)) {
		r := hub.Reminder{ID: hub.ReminderID(ap.ID, pr.Offset, ap.Version), PracticeID: ap.PracticeID, AppointmentID: ap.ID,
			PatientID: ap.PatientID, Offset: pr.Offset, Version: ap.Version, FireAt: pr.FireAt, State: hub.ReminderScheduled,
			AsksConfirmation: cfg.Confirm, Created: now, Updated: now}
		if err := s.store.CreateReminder(ctx, &r); err != nil {
			return err
		}
		rs = append(rs, r)
	}
	hub.AfterCommit(ctx, func(ctx context.Context) {
		for i := range rs {
			s.schedule(ctx, &rs[i])
		}
	})
	return nil
}

// cancelReminders cancels the scheduled reminders of ap's older versions
// and deletes their tasks after commit.
func (s *Service) cancelReminders(ctx context.Context, ap *hub.Appointment) error {
	rs, err := s.store.ListReminders(ctx, ap.PracticeID, ap.ID)
	if err != nil {
		return err
	}
	var gone []hub.Reminder
	for _, r := range rs {
		if r.State != hub.ReminderScheduled || r.Version == ap.Version {
			continue
		}
		r.State, r.Note, r.Updated = hub.ReminderCancelled, "appointment changed", s.Now()
		if err := s.store.UpdateReminder(ctx, &r, hub.ReminderScheduled); errors.Is(err, hub.ErrNoRows) {
			continue // fired meanwhile
		} else if err != nil {
			return err
		}
		gone = append(gone, r)
	}
	hub.AfterCommit(ctx, func(ctx context.Context) {
		for i := range gone {
			if err := s.sched.UnscheduleReminder(context.WithoutCancel(ctx), &gone[i]); err != nil {
				// Harmless: the task finds its reminder cancelled.
				s.log.Warn("deleting a stale reminder task", "reminder", gone[i].ID, "err", err)
			}
		}
	})
	return nil
}

// schedule queues a committed reminder; a failure is logged (the sweeper
// schedules it again).
func (s *Service) schedule(ctx context.Context, r *hub.Reminder) {
	if err := s.sched.ScheduleReminder(context.WithoutCancel(ctx), r); err != nil {
		s.log.Warn("scheduling a reminder failed; the sweeper will retry", "reminder", r.ID, "err", err)
	}
}

// errStale rolls back a reminder firing that lost a race.
var errStale = errors.New("reminders: reminder changed while firing")

// FireReminder runs a reminder task (payload: appointment id, offset,
// version). It does nothing unless the reminder is still scheduled and
// the appointment is still booked at that version and has not started:
// a stale task (the appointment was moved or cancelled) is a no-op. Else
// it records an appointment_reminder notice, plans its delivery on the
// patient's channels, marks the reminder sent and, when the reminder
// asks for a confirmation, the appointment's confirmation pending, all
// in one transaction.
func (s *Service) FireReminder(ctx context.Context, appointmentID string, offset time.Duration, version int) error {
	id := hub.ReminderID(appointmentID, offset, version)
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		r, err := s.store.GetReminder(ctx, "", id)
		if errors.Is(err, hub.ErrNoRows) {
			s.log.Warn("reminder task for an unknown reminder: dropped", "reminder", id)
			return nil
		}
		if err != nil {
			return err
		}
		if r.State != hub.ReminderScheduled {
			return nil
		}
		ap, err := s.store.GetAppointmentByID(ctx, r.PracticeID, r.AppointmentID)
		if err != nil {
			return err
		}
		now := s.Now()
		skip := func(state, note string) error {
			r.State, r.Note, r.Updated = state, note, now
			if err := s.store.UpdateReminder(ctx, r, hub.ReminderScheduled); errors.Is(err, hub.ErrNoRows) {
				return errStale
			} else if err != nil {
				return err
			}
			return nil
		}
		switch {
		case ap.Version != r.Version || ap.Status != hub.AppointmentBooked:
			return skip(hub.ReminderCancelled, "appointment changed")
		case !ap.Start.After(now):
			return skip(hub.ReminderSkipped, "appointment already started")
		}
		p, err := s.store.GetPatientByID(ctx, r.PracticeID, ap.PatientID)
		if err != nil {
			return err
		}
		if ch, _ := p.FirstReachable(hub.KindAppointmentReminder, p.Channels, s.Now()); ch == "" {
			return skip(hub.ReminderSkipped, "no reachable channel")
		}
		a := hub.Worker(r.PracticeID, ap.Mode)
		n := &hub.Notice{ID: hub.NewID(hub.PrefixNotice), PracticeID: r.PracticeID, PatientID: p.ID, Kind: hub.KindAppointmentReminder,
			Data: &hub.NoticeData{AppointmentID: ap.ID, Start: ap.Start, Clinician: ap.Clinician, Location: ap.Location,
				AsksConfirmation: r.AsksConfirmation},
			Channels: p.Channels, Mode: ap.Mode, Created: now}
		if err := s.store.CreateNotice(ctx, n); err != nil {
			return err
		}
		d, err := s.plan.Plan(ctx, a, p, n.ID, n.Kind, p.Channels)
		if err != nil {
			return err
		}
		r.State, r.NoticeID, r.DeliveryID, r.SentAt, r.Updated = hub.ReminderSent, n.ID, d.ID, &now, now
		if err := s.store.UpdateReminder(ctx, r, hub.ReminderScheduled); errors.Is(err, hub.ErrNoRows) {
			return errStale // another worker fired it first: roll this one back
		} else if err != nil {
			return err
		}
		if r.AsksConfirmation && ap.Confirmation == hub.ConfirmationNone {
			ap.Confirmation, ap.Updated = hub.ConfirmationPending, now
			if err := s.store.UpdateAppointment(ctx, ap, ap.Version); errors.Is(err, hub.ErrNoRows) {
				return errStale
			} else if err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, a, "reminder.sent", p.ID, r.ID)
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
// no reminder is waiting (the text is then an ordinary reply). messageID
// (Twilio's MessageSid; "" for none) is applied once: a replay of an
// answer that was applied returns found and changes nothing, so a replayed
// Y cannot undo a later N.
func (s *Service) AnswerConfirmation(ctx context.Context, practiceID, phone string, yes bool, messageID string) (bool, error) {
	found := false
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		found = false
		if messageID != "" {
			first, err := s.store.ClaimInbound(ctx, practiceID, hub.ChannelSMS, messageID, s.Now())
			if err != nil {
				return err
			}
			if !first {
				found = true // applied when it first came
				return nil
			}
		}
		ps, err := s.store.FindPatientsByPhone(ctx, practiceID, phone)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		now := s.Now()
		r, err := s.store.LatestConfirmableReminder(ctx, practiceID, ids, now)
		if errors.Is(err, hub.ErrNoRows) {
			// Not an answer: the text becomes a reply, de-duplicated by
			// its own id there. Forget the claim so that a retry after a
			// failed reply is not taken for a replayed answer.
			return errNoAnswer
		}
		if err != nil {
			return err
		}
		ap, err := s.store.GetAppointmentByID(ctx, practiceID, r.AppointmentID)
		if err != nil {
			return err
		}
		state, event := hub.ConfirmationDeclined, hub.WebhookAppointmentDeclined
		if yes {
			state, event = hub.ConfirmationConfirmed, hub.WebhookAppointmentConfirmed
		}
		prev := ap.Confirmation
		ap.Confirmation, ap.ConfirmationAt, ap.Updated = state, &now, now
		if err := s.store.UpdateAppointment(ctx, ap, ap.Version); err != nil {
			return err
		}
		found = true
		a := hub.Actor{PracticeID: practiceID, ID: "patient:sms", Mode: ap.Mode}
		if err := s.audit.Record(ctx, a, "appointment."+state, ap.PatientID, ap.ID); err != nil {
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
		return s.hooks.Emit(ctx, practiceID, event, map[string]any{
			"appointment": ap.ExternalID, "patient": patient, "start": ap.Start, "confirmation": state,
			"answered_at": now, "reminder": r.ID,
		})
	})
	if errors.Is(err, errNoAnswer) {
		return false, nil
	}
	return found, err
}

// errNoAnswer rolls back AnswerConfirmation's claim when no reminder is
// waiting for an answer.
var errNoAnswer = errors.New("reminders: no reminder waiting for an answer")
