package store_test

import (
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

// TestTenantIsolation: practice B cannot read or change practice A's
// records, even knowing their ids.
func TestTenantIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, b := mustPractice(t, s, "Kauri Health"), mustPractice(t, s, "Rimu Medical")
		pat := mustPatient(t, s, a.ID, "A")
		n := mustNotice(t, s, pat)
		d := mustDelivery(t, s, n, hub.ChannelPortal, ts(0))
		it := &hub.InboxItem{PracticeID: a.ID, PatientID: pat.ID, DeliveryID: d.ID, Text: "t", Created: ts(0)}
		if err := s.PutInboxItem(ctx, it); err != nil {
			t.Fatal(err)
		}
		st := &hub.Staff{PracticeID: a.ID, Email: "gp@kauri.example"}
		if err := s.CreateStaff(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSetting(ctx, a.ID, hub.SettingSMS, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if r, err := s.ClaimIdempotencyKey(ctx, a.ID, "k", []byte("h")); r != nil || err != nil {
			t.Fatal(r, err)
		}

		noRows := []struct {
			name string
			call func() error
		}{
			{"GetPatient", func() error { _, err := s.GetPatient(ctx, b.ID, pat.ExternalID); return err }},
			{"GetPatientByID", func() error { _, err := s.GetPatientByID(ctx, b.ID, pat.ID); return err }},
			{"GetNotice", func() error { _, err := s.GetNotice(ctx, b.ID, n.ID); return err }},
			{"GetDelivery", func() error { _, err := s.GetDelivery(ctx, b.ID, d.ID); return err }},
			{"GetStaff", func() error { _, err := s.GetStaff(ctx, b.ID, st.ID); return err }},
			{"GetSetting", func() error { _, err := s.GetSetting(ctx, b.ID, hub.SettingSMS); return err }},
			{"UpdateDelivery", func() error {
				other := *d
				other.PracticeID, other.State = b.ID, hub.StateCancelled
				return s.UpdateDelivery(ctx, &other)
			}},
			{"MarkInboxRead", func() error { return s.MarkInboxRead(ctx, b.ID, pat.ID, it.ID, ts(0)) }},
			{"SaveIdempotentResponse", func() error { return s.SaveIdempotentResponse(ctx, b.ID, "k", 200, nil) }},
		}
		for _, tt := range noRows {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, tt.name, tt.call(), hub.ErrNoRows)
			})
		}

		empty := []struct {
			name string
			n    func() (int, error)
		}{
			{"ListInbox", func() (int, error) { l, err := s.ListInbox(ctx, b.ID, pat.ID, 0); return len(l), err }},
			{"ListDeliveries", func() (int, error) {
				l, err := s.ListDeliveries(ctx, hub.DeliveryFilter{PracticeID: b.ID, PatientID: pat.ID})
				return len(l), err
			}},
			{"FindPatientsByPhone", func() (int, error) { l, err := s.FindPatientsByPhone(ctx, b.ID, pat.Phone); return len(l), err }},
			{"FindPatientsByEmail", func() (int, error) { l, err := s.FindPatientsByEmail(ctx, b.ID, pat.Email); return len(l), err }},
			{"ListStaff", func() (int, error) { l, err := s.ListStaff(ctx, b.ID); return len(l), err }},
			{"ListOutbox", func() (int, error) { l, err := s.ListOutbox(ctx, b.ID, 0); return len(l), err }},
		}
		for _, tt := range empty {
			t.Run(tt.name, func(t *testing.T) {
				n, err := tt.n()
				if err != nil || n != 0 {
					t.Errorf("%s for practice B = %d rows, %v; want none", tt.name, n, err)
				}
			})
		}

		// B's idempotency keys are its own.
		if r, err := s.ClaimIdempotencyKey(ctx, b.ID, "k", []byte("h")); r != nil || err != nil {
			t.Errorf("ClaimIdempotencyKey for B = %v, %v; want a fresh claim", r, err)
		}
		// A record of B cannot point at A's patient.
		cross := &hub.Notice{PracticeID: b.ID, PatientID: pat.ID, Mode: hub.ModeLive}
		if err := s.CreateNotice(ctx, cross); err == nil {
			t.Error("CreateNotice for B with A's patient succeeded")
		}
		crossD := &hub.Delivery{PracticeID: b.ID, PatientID: pat.ID, Channel: hub.ChannelSMS, Mode: hub.ModeLive}
		if err := s.CreateDelivery(ctx, crossD); err == nil {
			t.Error("CreateDelivery for B with A's patient succeeded")
		}
	})
}

func TestConflicts(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		pat := mustPatient(t, s, p.ID, "A")
		n := mustNotice(t, s, pat)
		d := mustDelivery(t, s, n, hub.ChannelSMS, ts(0))
		k := &hub.APIKey{ID: "key_1", PracticeID: p.ID, Mode: hub.ModeLive, SecretHash: []byte("h")}
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateStaff(ctx, &hub.Staff{PracticeID: p.ID, Email: "gp@kauri.example"}); err != nil {
			t.Fatal(err)
		}
		ev := &hub.AuditEvent{PracticeID: p.ID, Actor: "worker", Action: "x"}
		if err := s.AddAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		other := mustPractice(t, s, "Rimu Medical")
		tests := []struct {
			name string
			call func() error
		}{
			{"practice id", func() error { return s.CreatePractice(ctx, &hub.Practice{ID: p.ID, Name: "x"}) }},
			{"api key id", func() error { return s.CreateAPIKey(ctx, &hub.APIKey{ID: k.ID, PracticeID: p.ID, Mode: hub.ModeLive}) }},
			{"staff email, other case", func() error {
				return s.CreateStaff(ctx, &hub.Staff{PracticeID: p.ID, Email: "GP@Kauri.Example"})
			}},
			{"staff email, other practice", func() error {
				return s.CreateStaff(ctx, &hub.Staff{PracticeID: other.ID, Email: "gp@kauri.example"})
			}},
			{"patient id, other external id", func() error {
				_, err := s.PutPatient(ctx, &hub.Patient{ID: pat.ID, PracticeID: p.ID, ExternalID: "B"})
				return err
			}},
			{"notice id", func() error {
				return s.CreateNotice(ctx, &hub.Notice{ID: n.ID, PracticeID: p.ID, PatientID: pat.ID, Mode: hub.ModeLive})
			}},
			{"delivery id", func() error {
				dup := *d
				return s.CreateDelivery(ctx, &dup)
			}},
			{"audit id", func() error { return s.AddAudit(ctx, &hub.AuditEvent{ID: ev.ID, PracticeID: p.ID}) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, tt.name, tt.call(), hub.ErrConflict)
			})
		}
	})
}
