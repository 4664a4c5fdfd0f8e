package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func mustAppointment(t *testing.T, s *store.Store, practiceID, patientID, ext string, start time.Time) *hub.Appointment {
	t.Helper()
	a := &hub.Appointment{PracticeID: practiceID, ExternalID: ext, PatientID: patientID, Start: start, DurationMinutes: 15,
		Clinician: "Dr Aroha Smith", Location: "Kōwhai Health, Room 2", Status: hub.AppointmentBooked, Version: 1,
		Mode: hub.ModeLive, Created: ts(0)}
	if err := s.CreateAppointment(t.Context(), a); err != nil {
		t.Fatalf("CreateAppointment: %v", err)
	}
	return a
}

func TestAppointmentsAndReminders(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kōwhai Health")
		pat := mustPatient(t, s, p.ID, "p-1001")
		a := mustAppointment(t, s, p.ID, pat.ID, "a-1", ts(72*time.Hour))
		if a.Confirmation != hub.ConfirmationNone {
			t.Errorf("Confirmation = %q", a.Confirmation)
		}
		got, err := s.GetAppointment(ctx, p.ID, "a-1")
		if err != nil || got.ID != a.ID || !got.Start.Equal(us(ts(72*time.Hour))) || got.Location != a.Location || got.Version != 1 {
			t.Fatalf("GetAppointment = %+v, %v", got, err)
		}
		if err := s.CreateAppointment(ctx, &hub.Appointment{PracticeID: p.ID, ExternalID: "a-1", PatientID: pat.ID,
			Status: hub.AppointmentBooked, Version: 1, Mode: hub.ModeLive}); !errors.Is(err, hub.ErrConflict) {
			t.Errorf("second a-1: %v, want ErrConflict", err)
		}

		// Optimistic concurrency on the version.
		upd := *got
		upd.Version, upd.Start = 2, ts(96*time.Hour)
		if err := s.UpdateAppointment(ctx, &upd, 1); err != nil {
			t.Fatal(err)
		}
		stale := *got
		stale.Version = 2
		if err := s.UpdateAppointment(ctx, &stale, 1); !errors.Is(err, hub.ErrNoRows) {
			t.Errorf("update from a stale version: %v, want ErrNoRows", err)
		}

		r1 := &hub.Reminder{ID: hub.ReminderID(a.ID, 48*time.Hour, 1), PracticeID: p.ID, AppointmentID: a.ID, PatientID: pat.ID,
			Offset: 48 * time.Hour, Version: 1, FireAt: ts(24 * time.Hour), AsksConfirmation: true}
		r2 := &hub.Reminder{ID: hub.ReminderID(a.ID, 2*time.Hour, 2), PracticeID: p.ID, AppointmentID: a.ID, PatientID: pat.ID,
			Offset: 2 * time.Hour, Version: 2, FireAt: ts(94 * time.Hour), AsksConfirmation: true}
		for _, r := range []*hub.Reminder{r1, r2} {
			if err := s.CreateReminder(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateReminder(ctx, r1); !errors.Is(err, hub.ErrConflict) {
			t.Errorf("second reminder with one id: %v", err)
		}
		rs, err := s.ListReminders(ctx, p.ID, a.ID)
		if err != nil || len(rs) != 2 || rs[0].ID != r1.ID || rs[0].Offset != 48*time.Hour || rs[0].State != hub.ReminderScheduled ||
			!rs[0].AsksConfirmation {
			t.Fatalf("ListReminders = %+v, %v", rs, err)
		}
		due, err := s.ListScheduledReminders(ctx, ts(0), ts(48*time.Hour), "", 10)
		if err != nil || len(due) != 1 || due[0].ID != r1.ID {
			t.Errorf("ListScheduledReminders = %+v, %v", due, err)
		}

		// State moves are guarded: only from the state the caller saw.
		r2.State, r2.SentAt, r2.DeliveryID = hub.ReminderSent, new(ts(time.Hour)), "dlv_1"
		if err := s.UpdateReminder(ctx, r2, hub.ReminderScheduled); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateReminder(ctx, r2, hub.ReminderScheduled); !errors.Is(err, hub.ErrNoRows) {
			t.Errorf("second move from scheduled: %v", err)
		}

		// The reminder a Y/N answers: sent, asking, current version, future.
		got2, err := s.LatestConfirmableReminder(ctx, p.ID, []string{pat.ID, "pat_other"}, ts(0))
		if err != nil || got2.ID != r2.ID || got2.DeliveryID != "dlv_1" {
			t.Errorf("LatestConfirmableReminder = %+v, %v", got2, err)
		}
		if _, err := s.LatestConfirmableReminder(ctx, p.ID, []string{pat.ID}, ts(100*time.Hour)); !errors.Is(err, hub.ErrNoRows) {
			t.Errorf("after the start: %v", err)
		}
		if _, err := s.LatestConfirmableReminder(ctx, p.ID, nil, ts(0)); !errors.Is(err, hub.ErrNoRows) {
			t.Errorf("no patients: %v", err)
		}

		// Notices carry their data.
		n := &hub.Notice{PracticeID: p.ID, PatientID: pat.ID, Kind: hub.KindAppointmentReminder, Mode: hub.ModeLive,
			Data: &hub.NoticeData{AppointmentID: a.ID, Start: us(ts(96 * time.Hour)), Clinician: "Dr Aroha Smith", AsksConfirmation: true}}
		if err := s.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
		gn, err := s.GetNotice(ctx, p.ID, n.ID)
		if err != nil || gn.Data == nil || gn.Data.AppointmentID != a.ID || !gn.Data.Start.Equal(n.Data.Start) || !gn.Data.AsksConfirmation {
			t.Errorf("GetNotice = %+v (%+v), %v", gn, gn.Data, err)
		}
		plain := &hub.Notice{PracticeID: p.ID, PatientID: pat.ID, Kind: hub.KindNotice, Text: "hi", Mode: hub.ModeLive}
		if err := s.CreateNotice(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if gn, err := s.GetNotice(ctx, p.ID, plain.ID); err != nil || gn.Data != nil {
			t.Errorf("plain notice data = %+v, %v", gn.Data, err)
		}

		// Webhook events.
		e := &hub.WebhookEvent{PracticeID: p.ID, Type: hub.WebhookAppointmentConfirmed, Body: []byte(`{"id":"x"}`), Created: ts(0)}
		if err := s.CreateWebhookEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		pending, err := s.ListPendingWebhookEvents(ctx, ts(time.Minute), "", 10)
		if err != nil || len(pending) != 1 || string(pending[0].Body) != `{"id":"x"}` || pending[0].State != hub.WebhookPending {
			t.Errorf("ListPendingWebhookEvents = %+v, %v", pending, err)
		}
		e.State, e.Attempts, e.LastError = hub.WebhookFailed, 1, "HTTP 400"
		if err := s.UpdateWebhookEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if ge, err := s.GetWebhookEvent(ctx, "", e.ID); err != nil || ge.State != hub.WebhookFailed || ge.Attempts != 1 {
			t.Errorf("GetWebhookEvent = %+v, %v", ge, err)
		}

		// Tenancy: another practice sees none of it and writes none of it.
		b := mustPractice(t, s, "Rimu Medical")
		for name, err := range map[string]error{
			"GetAppointment":     func() error { _, err := s.GetAppointment(ctx, b.ID, "a-1"); return err }(),
			"GetAppointmentByID": func() error { _, err := s.GetAppointmentByID(ctx, b.ID, a.ID); return err }(),
			"GetReminder":        func() error { _, err := s.GetReminder(ctx, b.ID, r1.ID); return err }(),
			"GetWebhookEvent":    func() error { _, err := s.GetWebhookEvent(ctx, b.ID, e.ID); return err }(),
			"UpdateAppointment": func() error {
				x := upd
				x.PracticeID = b.ID
				return s.UpdateAppointment(ctx, &x, 2)
			}(),
			"UpdateReminder": func() error {
				x := *r1
				x.PracticeID = b.ID
				return s.UpdateReminder(ctx, &x, hub.ReminderScheduled)
			}(),
			"UpdateWebhookEvent": func() error {
				x := *e
				x.PracticeID = b.ID
				return s.UpdateWebhookEvent(ctx, &x)
			}(),
			"LatestConfirmableReminder": func() error {
				_, err := s.LatestConfirmableReminder(ctx, b.ID, []string{pat.ID}, ts(0))
				return err
			}(),
		} {
			if !errors.Is(err, hub.ErrNoRows) {
				t.Errorf("%s for another practice: %v, want ErrNoRows", name, err)
			}
		}
		if l, err := s.ListReminders(ctx, b.ID, a.ID); err != nil || len(l) != 0 {
			t.Errorf("ListReminders for another practice = %v, %v", l, err)
		}
		if l, err := s.ListWebhookEvents(ctx, b.ID, 10); err != nil || len(l) != 0 {
			t.Errorf("ListWebhookEvents for another practice = %v, %v", l, err)
		}
		if err := s.CreateAppointment(ctx, &hub.Appointment{PracticeID: b.ID, ExternalID: "a-1", PatientID: pat.ID,
			Status: hub.AppointmentBooked, Version: 1, Mode: hub.ModeLive}); err == nil {
			t.Error("CreateAppointment for B with A's patient succeeded")
		}
		if err := s.CreateReminder(ctx, &hub.Reminder{ID: "rem_x", PracticeID: b.ID, AppointmentID: a.ID, PatientID: pat.ID}); err == nil {
			t.Error("CreateReminder for B with A's appointment succeeded")
		}
	})
}
