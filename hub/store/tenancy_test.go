package store_test

import (
	"testing"
	"time"

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
		key := mustKey(t, s, a.ID, hub.OwnerPatient, pat.ID, "AAAA", ts(0))
		team := mustKey(t, s, a.ID, hub.OwnerTeam, a.ID, "TEAM", ts(0))
		if err := s.PutLockedKey(ctx, &hub.LockedKey{PracticeID: a.ID, OwnerKind: hub.OwnerStaff, OwnerID: st.ID,
			Fingerprint: "SSSS", Armored: []byte("locked")}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutTeamGrant(ctx, &hub.TeamGrant{PracticeID: a.ID, StaffID: st.ID, TeamKeyID: team.ID, Message: []byte("g")}); err != nil {
			t.Fatal(err)
		}
		th := mustThread(t, s, &hub.Thread{PracticeID: a.ID, PatientID: pat.ID, StaffUnread: 1})
		msg := &hub.SecureMessage{PracticeID: a.ID, ThreadID: th.ID, SenderKind: "patient", Via: "sms", ProviderID: "SM1"}
		if err := s.AddMessage(ctx, msg); err != nil {
			t.Fatal(err)
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
			{"CurrentKey", func() error { _, err := s.CurrentKey(ctx, b.ID, hub.OwnerPatient, pat.ID); return err }},
			{"GetLockedKey", func() error { _, err := s.GetLockedKey(ctx, b.ID, hub.OwnerStaff, st.ID); return err }},
			{"GetTeamGrant", func() error { _, err := s.GetTeamGrant(ctx, b.ID, st.ID, team.ID); return err }},
			{"GetThread", func() error { _, err := s.GetThread(ctx, b.ID, th.ID); return err }},
			{"LatestOpenThread", func() error { _, err := s.LatestOpenThread(ctx, b.ID, pat.ID); return err }},
			{"UpdateThread", func() error {
				other := *th
				other.PracticeID, other.Status = b.ID, hub.ThreadClosed
				return s.UpdateThread(ctx, &other)
			}},
			{"GetMessage", func() error { _, err := s.GetMessage(ctx, b.ID, msg.ID); return err }},
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
			{"ListKeys", func() (int, error) { l, err := s.ListKeys(ctx, b.ID, hub.OwnerPatient, pat.ID); return len(l), err }},
			{"ListTeamGrants", func() (int, error) { l, err := s.ListTeamGrants(ctx, b.ID, team.ID); return len(l), err }},
			{"ListThreads", func() (int, error) {
				l, err := s.ListThreads(ctx, hub.ThreadFilter{PracticeID: b.ID})
				return len(l), err
			}},
			{"ListThreads by patient, unread", func() (int, error) {
				l, err := s.ListThreads(ctx, hub.ThreadFilter{PracticeID: b.ID, PatientID: pat.ID, Unread: true})
				return len(l), err
			}},
			{"ListThreads before A's thread", func() (int, error) {
				l, err := s.ListThreads(ctx, hub.ThreadFilter{PracticeID: b.ID, BeforeID: th.ID})
				return len(l), err
			}},
			{"ListMessages", func() (int, error) { l, err := s.ListMessages(ctx, b.ID, th.ID, "", 0); return len(l), err }},
			{"DeleteTeamGrants", func() (int, error) { n, err := s.DeleteTeamGrants(ctx, b.ID, st.ID); return int(n), err }},
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
		if err := s.CreateThread(ctx, &hub.Thread{PracticeID: b.ID, PatientID: pat.ID}); err == nil {
			t.Error("CreateThread for B with A's patient succeeded")
		}
		if err := s.AddMessage(ctx, &hub.SecureMessage{PracticeID: b.ID, ThreadID: th.ID, SenderKind: "staff"}); err == nil {
			t.Error("AddMessage for B to A's thread succeeded")
		}
		if err := s.PutTeamGrant(ctx, &hub.TeamGrant{PracticeID: b.ID, StaffID: st.ID, TeamKeyID: team.ID, Message: []byte("g")}); err == nil {
			t.Error("PutTeamGrant for B with A's team key succeeded")
		}

		// B's writes with A's owner ids, fingerprints and provider ids are
		// B's own and leave A's records alone.
		bKey := mustKey(t, s, b.ID, hub.OwnerPatient, pat.ID, "BBBB", ts(time.Hour))
		mustKey(t, s, b.ID, hub.OwnerPatient, pat.ID, "AAAA", ts(2*time.Hour))
		if bKey.ID == key.ID {
			t.Error("B's key took A's id")
		}
		if got, err := s.CurrentKey(ctx, a.ID, hub.OwnerPatient, pat.ID); err != nil || got.ID != key.ID || got.Superseded != nil {
			t.Errorf("A's current key after B's adds = %+v, %v; want %s", got, err, key.ID)
		}
		if err := s.PutLockedKey(ctx, &hub.LockedKey{PracticeID: b.ID, OwnerKind: hub.OwnerStaff, OwnerID: st.ID, Armored: []byte("b")}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetLockedKey(ctx, a.ID, hub.OwnerStaff, st.ID); err != nil || string(got.Armored) != "locked" {
			t.Errorf("A's locked key after B's put = %+v, %v", got, err)
		}
		if _, err := s.GetTeamGrant(ctx, a.ID, st.ID, team.ID); err != nil {
			t.Errorf("A's grant after B's delete: %v", err)
		}
		patB := mustPatient(t, s, b.ID, "A")
		thB := mustThread(t, s, &hub.Thread{PracticeID: b.ID, PatientID: patB.ID})
		if err := s.AddMessage(ctx, &hub.SecureMessage{PracticeID: b.ID, ThreadID: thB.ID, SenderKind: "patient",
			Via: "sms", ProviderID: "SM1"}); err != nil {
			t.Errorf("AddMessage for B with A's provider id: %v", err)
		}
		if l, err := s.ListThreads(ctx, hub.ThreadFilter{PracticeID: b.ID}); err != nil || len(l) != 1 || l[0].ID != thB.ID {
			t.Errorf("B's threads = %+v, %v; want only %s", l, err, thB.ID)
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
		key := mustKey(t, s, p.ID, hub.OwnerStaff, "stf_1", "AAAA", ts(0))
		th := mustThread(t, s, &hub.Thread{PracticeID: p.ID, PatientID: pat.ID})
		msg := &hub.SecureMessage{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", Via: "email", ProviderID: "<a@example.org>"}
		if err := s.AddMessage(ctx, msg); err != nil {
			t.Fatal(err)
		}
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
			{"key id, other owner", func() error {
				return s.AddKey(ctx, &hub.Key{ID: key.ID, PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_2", Fingerprint: "BBBB"})
			}},
			{"thread id", func() error {
				return s.CreateThread(ctx, &hub.Thread{ID: th.ID, PracticeID: p.ID, PatientID: pat.ID})
			}},
			{"message id", func() error {
				return s.AddMessage(ctx, &hub.SecureMessage{ID: msg.ID, PracticeID: p.ID, ThreadID: th.ID, SenderKind: "staff"})
			}},
			{"message provider id", func() error {
				return s.AddMessage(ctx, &hub.SecureMessage{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient",
					Via: msg.Via, ProviderID: msg.ProviderID})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, tt.name, tt.call(), hub.ErrConflict)
			})
		}
	})
}
