package reminders

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// AppointmentInput is the body of PUT /v1/appointments/{external_id}.
type AppointmentInput struct {
	Patient         string `json:"patient"`
	Start           string `json:"start"`
	DurationMinutes *int   `json:"duration_minutes"`
	Clinician       string `json:"clinician"`
	Location        string `json:"location"`
	Status          string `json:"status"` // booked (default) | cancelled
}

// AppointmentView is an appointment as the API shows it: with its
// patient's external id, its reminders and the practice's time zone.
type AppointmentView struct {
	Appointment       *hub.Appointment
	PatientExternalID string
	// Reminders of the current version, and any sent before it.
	Reminders []hub.Reminder
	Location  *time.Location
	// Cancellation is the appointment_cancelled notice a cancellation sent,
	// when this call sent one.
	Cancellation *hub.Notice
}

// Limits of appointment fields.
const (
	MaxClinician       = 100
	MaxLocation        = 200
	MaxDurationMinutes = 24 * 60
)

type appointmentFields struct {
	start    time.Time
	duration int
	status   string
}

func checkAppointment(externalID string, in *AppointmentInput) (appointmentFields, error) {
	var f appointmentFields
	if err := hub.CheckExternalID("external_id", externalID); err != nil {
		return f, err
	}
	if in.Patient == "" {
		return f, hub.Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if err := hub.CheckExternalID("patient", in.Patient); err != nil {
		return f, err
	}
	if in.Start == "" {
		return f, hub.Invalid("start", "missing_field", "start: required, RFC 3339 with an offset (2026-12-01T10:30:00+13:00)")
	}
	t, err := time.Parse(time.RFC3339, in.Start)
	if err != nil {
		return f, hub.Invalid("start", "invalid_time", "start: not RFC 3339 with an offset (2026-12-01T10:30:00+13:00)")
	}
	if t.Year() < 2000 || t.Year() > 2200 {
		return f, hub.Invalid("start", "invalid_time", "start: year out of range")
	}
	f.start = t
	if in.DurationMinutes == nil {
		return f, hub.Invalid("duration_minutes", "missing_field", "duration_minutes: required, 1 to %d", MaxDurationMinutes)
	}
	if *in.DurationMinutes < 1 || *in.DurationMinutes > MaxDurationMinutes {
		return f, hub.Invalid("duration_minutes", "invalid_duration", "duration_minutes: 1 to %d", MaxDurationMinutes)
	}
	f.duration = *in.DurationMinutes
	in.Clinician, in.Location = strings.TrimSpace(in.Clinician), strings.TrimSpace(in.Location)
	if err := hub.CheckLine("clinician", in.Clinician, MaxClinician); err != nil {
		return f, err
	}
	if err := hub.CheckLine("location", in.Location, MaxLocation); err != nil {
		return f, err
	}
	switch in.Status {
	case "", hub.AppointmentBooked:
		f.status = hub.AppointmentBooked
	case hub.AppointmentCancelled:
		f.status = hub.AppointmentCancelled
	default:
		return f, hub.Invalid("status", "invalid_status", "status: booked or cancelled")
	}
	return f, nil
}

// UpsertAppointment creates or replaces the practice's appointment
// externalID. A change of start, status or patient makes a new version:
// the old version's scheduled reminders are cancelled (their tasks
// deleted after commit), a booked appointment's reminders are planned
// again, and a new start clears the confirmation. A change from booked to
// cancelled sends the appointment_cancelled notice (see
// CancelAppointment). Other changes (clinician, location, duration) keep
// the version: reminders read the appointment when they fire.
func (s *Service) UpsertAppointment(ctx context.Context, a hub.Actor, externalID string, in AppointmentInput) (*AppointmentView, bool, error) {
	f, err := checkAppointment(externalID, &in)
	if err != nil {
		return nil, false, err
	}
	var view *AppointmentView
	created := false
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.store.GetPatient(ctx, a.PracticeID, in.Patient)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.Unprocessable("patient", "unknown_patient", "patient: no patient %q (PUT /v1/patients/%s first)", in.Patient, in.Patient)
		}
		if err != nil {
			return err
		}
		now := s.Now()
		old, err := s.store.GetAppointment(ctx, a.PracticeID, externalID)
		if err != nil && !errors.Is(err, hub.ErrNoRows) {
			return err
		}
		var ap *hub.Appointment
		changed := false
		var cancellation *hub.Notice
		if old == nil {
			created, changed = true, true
			mode := a.Mode
			if mode == "" {
				mode = hub.ModeLive
			}
			ap = &hub.Appointment{ID: hub.NewID(hub.PrefixAppointment), PracticeID: a.PracticeID, ExternalID: externalID, PatientID: p.ID,
				Start: f.start, DurationMinutes: f.duration, Clinician: in.Clinician, Location: in.Location, Status: f.status,
				Confirmation: hub.ConfirmationNone, Version: 1, Mode: mode, Created: now, Updated: now}
			if err := s.store.CreateAppointment(ctx, ap); errors.Is(err, hub.ErrConflict) {
				return hub.Conflict("appointment_changed", "the appointment was created by another request meanwhile: retry")
			} else if err != nil {
				return err
			}
		} else {
			ap = new(*old)
			moved := !old.Start.Equal(f.start) || old.PatientID != p.ID
			changed = moved || old.Status != f.status
			ap.PatientID, ap.Start, ap.DurationMinutes = p.ID, f.start, f.duration
			ap.Clinician, ap.Location, ap.Status, ap.Updated = in.Clinician, in.Location, f.status, now
			if changed {
				ap.Version++
			}
			if moved {
				ap.Confirmation, ap.ConfirmationAt = hub.ConfirmationNone, nil
			}
			if err := s.store.UpdateAppointment(ctx, ap, old.Version); errors.Is(err, hub.ErrNoRows) {
				return hub.Conflict("appointment_changed", "the appointment was changed by another request meanwhile: retry")
			} else if err != nil {
				return err
			}
			if changed {
				if err := s.cancelReminders(ctx, ap); err != nil {
					return err
				}
			}
			if old.Status == hub.AppointmentBooked && ap.Status == hub.AppointmentCancelled {
				if cancellation, err = s.notifyCancelled(ctx, a, ap, p); err != nil {
					return err
				}
			}
		}
		if changed && ap.Status == hub.AppointmentBooked {
			if err := s.planAppointmentReminders(ctx, ap); err != nil {
				return err
			}
		}
		if err := s.audit.Record(ctx, a, "appointment.put", p.ID, ap.ID); err != nil {
			return err
		}
		view, err = s.appointmentView(ctx, ap, p)
		if view != nil {
			view.Cancellation = cancellation
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return view, created, nil
}

// CancelAppointment marks the appointment cancelled (a new version),
// cancels its scheduled reminders and, unless it has already started,
// sends the appointment_cancelled notice on the patient's channels.
// Cancelling a cancelled appointment changes nothing.
func (s *Service) CancelAppointment(ctx context.Context, a hub.Actor, externalID string) (*AppointmentView, error) {
	if err := hub.CheckExternalID("external_id", externalID); err != nil {
		return nil, err
	}
	var view *AppointmentView
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		old, err := s.store.GetAppointment(ctx, a.PracticeID, externalID)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.NotFound("appointment")
		}
		if err != nil {
			return err
		}
		p, err := s.store.GetPatientByID(ctx, a.PracticeID, old.PatientID)
		if err != nil {
			return err
		}
		var cancellation *hub.Notice
		ap := new(*old)
		if old.Status != hub.AppointmentCancelled {
			ap.Status, ap.Version, ap.Updated = hub.AppointmentCancelled, old.Version+1, s.Now()
			if err := s.store.UpdateAppointment(ctx, ap, old.Version); errors.Is(err, hub.ErrNoRows) {
				return hub.Conflict("appointment_changed", "the appointment was changed by another request meanwhile: retry")
			} else if err != nil {
				return err
			}
			if err := s.cancelReminders(ctx, ap); err != nil {
				return err
			}
			if cancellation, err = s.notifyCancelled(ctx, a, ap, p); err != nil {
				return err
			}
			if err := s.audit.Record(ctx, a, "appointment.cancel", p.ID, ap.ID); err != nil {
				return err
			}
		}
		view, err = s.appointmentView(ctx, ap, p)
		if view != nil {
			view.Cancellation = cancellation
		}
		return err
	})
	return view, err
}

// GetAppointment reads the practice's appointment with its reminders
// (audited).
func (s *Service) GetAppointment(ctx context.Context, a hub.Actor, externalID string) (*AppointmentView, error) {
	if err := hub.CheckExternalID("external_id", externalID); err != nil {
		return nil, err
	}
	var view *AppointmentView
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		ap, err := s.store.GetAppointment(ctx, a.PracticeID, externalID)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.NotFound("appointment")
		}
		if err != nil {
			return err
		}
		p, err := s.store.GetPatientByID(ctx, a.PracticeID, ap.PatientID)
		if err != nil {
			return err
		}
		if err := s.audit.Record(ctx, a, "appointment.read", p.ID, ap.ID); err != nil {
			return err
		}
		view, err = s.appointmentView(ctx, ap, p)
		return err
	})
	return view, err
}

func (s *Service) appointmentView(ctx context.Context, ap *hub.Appointment, p *hub.Patient) (*AppointmentView, error) {
	rs, err := s.store.ListReminders(ctx, ap.PracticeID, ap.ID)
	if err != nil {
		return nil, err
	}
	shown := rs[:0]
	for _, r := range rs {
		if r.Version == ap.Version || r.State == hub.ReminderSent {
			shown = append(shown, r)
		}
	}
	loc, err := s.practiceLocation(ctx, ap.PracticeID)
	if err != nil {
		return nil, err
	}
	return &AppointmentView{Appointment: ap, PatientExternalID: p.ExternalID, Reminders: shown, Location: loc}, nil
}

// practiceLocation is the practice's time zone (DefaultTimeZone when it
// has none or an unknown one).
func (s *Service) practiceLocation(ctx context.Context, practiceID string) (*time.Location, error) {
	pr, err := s.store.GetPractice(ctx, practiceID)
	if err != nil {
		return nil, err
	}
	if loc, err := time.LoadLocation(pr.TimeZone); err == nil && pr.TimeZone != "" {
		return loc, nil
	}
	return time.LoadLocation(hub.DefaultTimeZone)
}

// notifyCancelled sends the appointment_cancelled notice, unless the
// appointment has started or the patient has no reachable channel (the
// PMS cancelled it; Karere has nobody to tell). It returns the notice, or
// nil when none was sent.
func (s *Service) notifyCancelled(ctx context.Context, a hub.Actor, ap *hub.Appointment, p *hub.Patient) (*hub.Notice, error) {
	if !ap.Start.After(s.Now()) {
		return nil, nil
	}
	if ch, _ := p.FirstReachable(hub.KindAppointmentCancelled, p.Channels, s.Now()); ch == "" {
		s.log.Info("appointment cancelled: the patient has no reachable channel", "appointment", ap.ID)
		return nil, nil
	}
	a.Mode = ap.Mode
	n := &hub.Notice{ID: hub.NewID(hub.PrefixNotice), PracticeID: ap.PracticeID, PatientID: p.ID, Kind: hub.KindAppointmentCancelled,
		Data:     &hub.NoticeData{AppointmentID: ap.ID, Start: ap.Start, Clinician: ap.Clinician, Location: ap.Location},
		Channels: p.Channels, Mode: ap.Mode, Created: s.Now()}
	if err := s.store.CreateNotice(ctx, n); err != nil {
		return nil, err
	}
	if _, err := s.plan.Plan(ctx, a, p, n.ID, n.Kind, p.Channels); err != nil {
		return nil, err
	}
	return n, nil
}
