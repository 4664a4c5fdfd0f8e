package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func mustKey(t *testing.T, s *store.Store, practiceID, ownerKind, ownerID, fingerprint string, created time.Time) *hub.Key {
	t.Helper()
	k := &hub.Key{PracticeID: practiceID, OwnerKind: ownerKind, OwnerID: ownerID, Fingerprint: fingerprint,
		Algorithm: "ed25519", Armored: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + fingerprint), Created: created}
	if err := s.AddKey(t.Context(), k); err != nil {
		t.Fatalf("AddKey %s: %v", fingerprint, err)
	}
	return k
}

func mustThread(t *testing.T, s *store.Store, th *hub.Thread) *hub.Thread {
	t.Helper()
	if err := s.CreateThread(t.Context(), th); err != nil {
		t.Fatalf("CreateThread: %v", err)
	}
	return th
}

func keyFingerprints(keys []hub.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Fingerprint)
	}
	return out
}

func TestKeys(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		pat := mustPatient(t, s, p.ID, "A")
		_, err := s.CurrentKey(ctx, p.ID, hub.OwnerPatient, pat.ID)
		wantErr(t, "CurrentKey before any", err, hub.ErrNoRows)

		k1 := mustKey(t, s, p.ID, hub.OwnerPatient, pat.ID, "AAAA", ts(0))
		if k1.ID == "" || k1.Created != us(ts(0)) || k1.Superseded != nil {
			t.Fatalf("AddKey left ID %q, Created %v, Superseded %v", k1.ID, k1.Created, k1.Superseded)
		}
		got, err := s.CurrentKey(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil {
			t.Fatalf("CurrentKey: %v", err)
		}
		wantEqual(t, "current key", *got, *k1)

		// Another owner's keys (same practice, even same fingerprint) are
		// not touched.
		staffKey := mustKey(t, s, p.ID, hub.OwnerStaff, "stf_1", "AAAA", ts(0))
		teamKey := mustKey(t, s, p.ID, hub.OwnerTeam, p.ID, "TEAM", ts(0))

		// A new key supersedes the old one at its Created.
		k2 := mustKey(t, s, p.ID, hub.OwnerPatient, pat.ID, "BBBB", ts(time.Hour))
		got, err = s.CurrentKey(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil || got.ID != k2.ID {
			t.Fatalf("CurrentKey after second = %+v, %v; want %s", got, err, k2.ID)
		}
		k3 := mustKey(t, s, p.ID, hub.OwnerPatient, pat.ID, "CCCC", ts(3*time.Hour))
		keys, err := s.ListKeys(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		old1, old2 := *k1, *k2
		old1.Superseded, old2.Superseded = usPtr(ts(time.Hour)), usPtr(ts(3*time.Hour))
		wantEqual(t, "keys", keys, []hub.Key{*k3, old2, old1})

		// Re-adding the first fingerprint makes it current again: its row
		// keeps its ID and Created, takes the new armor, and the others
		// are superseded at the call's time.
		re := &hub.Key{PracticeID: p.ID, OwnerKind: hub.OwnerPatient, OwnerID: pat.ID, Fingerprint: "AAAA",
			Algorithm: "ed25519", Armored: []byte("refreshed"), Created: ts(4 * time.Hour)}
		if err := s.AddKey(ctx, re); err != nil {
			t.Fatalf("AddKey re-add: %v", err)
		}
		if re.ID != k1.ID || re.Created != k1.Created || re.Superseded != nil {
			t.Errorf("re-add set ID %q Created %v Superseded %v; want %q %v nil", re.ID, re.Created, re.Superseded, k1.ID, k1.Created)
		}
		got, err = s.CurrentKey(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil {
			t.Fatalf("CurrentKey after re-add: %v", err)
		}
		wantEqual(t, "re-added key", *got, *re)
		keys, err = s.ListKeys(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		old3 := *k3
		old3.Superseded = usPtr(ts(4 * time.Hour))
		wantEqual(t, "keys after re-add: current, then newest", keys, []hub.Key{*re, old3, old2})

		// Re-adding the current key, as read back (with its ID), changes
		// nothing else.
		if err := s.AddKey(ctx, got); err != nil {
			t.Fatalf("AddKey current again: %v", err)
		}
		keys2, err := s.ListKeys(ctx, p.ID, hub.OwnerPatient, pat.ID)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		wantEqual(t, "keys after re-adding the current key", keys2, keys)

		for _, k := range []*hub.Key{staffKey, teamKey} {
			got, err := s.CurrentKey(ctx, p.ID, k.OwnerKind, k.OwnerID)
			if err != nil {
				t.Fatalf("CurrentKey %s: %v", k.OwnerKind, err)
			}
			wantEqual(t, k.OwnerKind+" key", *got, *k)
		}
		if l, err := s.ListKeys(ctx, p.ID, hub.OwnerPatient, "pat_nobody"); err != nil || len(l) != 0 {
			t.Errorf("ListKeys of an owner with none = %v, %v", l, err)
		}

		// An id taken by another key is a conflict, and changes nothing.
		dup := &hub.Key{ID: k2.ID, PracticeID: p.ID, OwnerKind: hub.OwnerPatient, OwnerID: pat.ID, Fingerprint: "DDDD"}
		wantErr(t, "AddKey taken id", s.AddKey(ctx, dup), hub.ErrConflict)
		if got, err := s.CurrentKey(ctx, p.ID, hub.OwnerPatient, pat.ID); err != nil || got.ID != k1.ID {
			t.Errorf("CurrentKey after failed add = %+v, %v; want %s", got, err, k1.ID)
		}
	})
}

// TestAddKeyInTx: AddKey joins the caller's transaction.
func TestAddKeyInTx(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		k1 := mustKey(t, s, p.ID, hub.OwnerStaff, "stf_1", "AAAA", ts(0))
		errBoom := errors.New("boom")

		err := s.Tx(ctx, func(tx *store.Store) error {
			k := &hub.Key{PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_1", Fingerprint: "BBBB", Created: ts(time.Hour)}
			if err := tx.AddKey(ctx, k); err != nil {
				return err
			}
			if got, err := tx.CurrentKey(ctx, p.ID, hub.OwnerStaff, "stf_1"); err != nil || got.ID != k.ID {
				t.Errorf("CurrentKey in tx = %+v, %v; want %s", got, err, k.ID)
			}
			return errBoom
		})
		wantErr(t, "Tx", err, errBoom)
		keys, err := s.ListKeys(ctx, p.ID, hub.OwnerStaff, "stf_1")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "keys after rollback", keys, []hub.Key{*k1})

		var k2 *hub.Key
		err = s.Tx(ctx, func(tx *store.Store) error {
			k2 = &hub.Key{PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_1", Fingerprint: "BBBB", Created: ts(time.Hour)}
			return tx.AddKey(ctx, k2)
		})
		if err != nil {
			t.Fatalf("Tx: %v", err)
		}
		keys, err = s.ListKeys(ctx, p.ID, hub.OwnerStaff, "stf_1")
		if err != nil {
			t.Fatal(err)
		}
		old := *k1
		old.Superseded = usPtr(ts(time.Hour))
		if len(keys) != 2 || keys[0].ID != k2.ID || keys[0].Superseded != nil {
			t.Fatalf("keys after commit = %+v", keys)
		}
		wantEqual(t, "superseded key", keys[1], old)
	})
}

func TestLockedKeys(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		_, err := s.GetLockedKey(ctx, p.ID, hub.OwnerStaff, "stf_1")
		wantErr(t, "GetLockedKey before put", err, hub.ErrNoRows)
		for i, k := range []*hub.LockedKey{
			{PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_1", Fingerprint: "AAAA", Armored: []byte{0, 1, 0xff}, Updated: ts(0)},
			{PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_1", Fingerprint: "BBBB", Armored: []byte("second"), Updated: ts(time.Hour)},
		} {
			if err := s.PutLockedKey(ctx, k); err != nil {
				t.Fatalf("PutLockedKey %d: %v", i, err)
			}
			got, err := s.GetLockedKey(ctx, p.ID, hub.OwnerStaff, "stf_1")
			if err != nil {
				t.Fatalf("GetLockedKey %d: %v", i, err)
			}
			wantEqual(t, "locked key", *got, *k)
		}
		other := &hub.LockedKey{PracticeID: p.ID, OwnerKind: hub.OwnerPatient, OwnerID: "stf_1", Fingerprint: "CCCC", Armored: []byte("p")}
		if err := s.PutLockedKey(ctx, other); err != nil {
			t.Fatalf("PutLockedKey other kind: %v", err)
		}
		if other.Updated.IsZero() {
			t.Error("PutLockedKey left Updated zero")
		}
		if got, err := s.GetLockedKey(ctx, p.ID, hub.OwnerStaff, "stf_1"); err != nil || got.Fingerprint != "BBBB" {
			t.Errorf("staff locked key after putting a patient's = %+v, %v", got, err)
		}
	})
}

func TestTeamGrants(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		team := mustKey(t, s, p.ID, hub.OwnerTeam, p.ID, "TEAM1", ts(0))
		team2 := mustKey(t, s, p.ID, hub.OwnerTeam, p.ID, "TEAM2", ts(time.Hour))
		_, err := s.GetTeamGrant(ctx, p.ID, "stf_1", team.ID)
		wantErr(t, "GetTeamGrant before put", err, hub.ErrNoRows)

		g1 := &hub.TeamGrant{PracticeID: p.ID, StaffID: "stf_1", TeamKeyID: team.ID, Message: []byte{0xc1, 0}, GrantedBy: "stf_0", Created: ts(0)}
		g2 := &hub.TeamGrant{PracticeID: p.ID, StaffID: "stf_2", TeamKeyID: team.ID, Message: []byte("m2"), GrantedBy: "stf_1", Created: ts(time.Minute)}
		g3 := &hub.TeamGrant{PracticeID: p.ID, StaffID: "stf_1", TeamKeyID: team2.ID, Message: []byte("m3"), GrantedBy: "stf_0"}
		for _, g := range []*hub.TeamGrant{g1, g2, g3} {
			if err := s.PutTeamGrant(ctx, g); err != nil {
				t.Fatalf("PutTeamGrant: %v", err)
			}
		}
		if g3.Created.IsZero() {
			t.Error("PutTeamGrant left Created zero")
		}
		got, err := s.GetTeamGrant(ctx, p.ID, "stf_1", team.ID)
		if err != nil {
			t.Fatalf("GetTeamGrant: %v", err)
		}
		wantEqual(t, "grant", *got, *g1)
		list, err := s.ListTeamGrants(ctx, p.ID, team.ID)
		if err != nil {
			t.Fatalf("ListTeamGrants: %v", err)
		}
		wantEqual(t, "grants of team key 1", list, []hub.TeamGrant{*g1, *g2})

		// Replace.
		r := &hub.TeamGrant{PracticeID: p.ID, StaffID: "stf_1", TeamKeyID: team.ID, Message: []byte("again"), GrantedBy: "stf_2", Created: ts(2 * time.Minute)}
		if err := s.PutTeamGrant(ctx, r); err != nil {
			t.Fatalf("PutTeamGrant replace: %v", err)
		}
		got, err = s.GetTeamGrant(ctx, p.ID, "stf_1", team.ID)
		if err != nil {
			t.Fatalf("GetTeamGrant: %v", err)
		}
		wantEqual(t, "replaced grant", *got, *r)

		// A grant must name a key of the practice.
		if err := s.PutTeamGrant(ctx, &hub.TeamGrant{PracticeID: p.ID, StaffID: "stf_1", TeamKeyID: "key_missing", Message: []byte("x")}); err == nil {
			t.Error("PutTeamGrant for a missing key succeeded")
		}

		n, err := s.DeleteTeamGrants(ctx, p.ID, "stf_1")
		if err != nil || n != 2 {
			t.Fatalf("DeleteTeamGrants = %d, %v; want 2", n, err)
		}
		_, err = s.GetTeamGrant(ctx, p.ID, "stf_1", team2.ID)
		wantErr(t, "GetTeamGrant after delete", err, hub.ErrNoRows)
		list, err = s.ListTeamGrants(ctx, p.ID, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "grants after delete", list, []hub.TeamGrant{*g2})
		if n, err := s.DeleteTeamGrants(ctx, p.ID, "stf_1"); err != nil || n != 0 {
			t.Errorf("DeleteTeamGrants again = %d, %v; want 0", n, err)
		}
	})
}

func threadIDs(threads []hub.Thread) []string {
	var out []string
	for _, th := range threads {
		out = append(out, th.ID)
	}
	return out
}

func TestThreads(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		patA, patB := mustPatient(t, s, p.ID, "A"), mustPatient(t, s, p.ID, "B")

		// Defaults.
		d := mustThread(t, s, &hub.Thread{PracticeID: p.ID, PatientID: patA.ID, Created: ts(-time.Hour)})
		if d.ID == "" || d.Status != hub.ThreadOpen || d.Created != us(ts(-time.Hour)) || d.LastActivity != d.Created {
			t.Fatalf("CreateThread defaults: %+v", d)
		}
		got, err := s.GetThread(ctx, p.ID, d.ID)
		if err != nil {
			t.Fatalf("GetThread: %v", err)
		}
		wantEqual(t, "thread", *got, *d)
		d.Status = hub.ThreadClosed
		if err := s.UpdateThread(ctx, d); err != nil {
			t.Fatal(err)
		}

		// Ties on LastActivity sort by id, newest first.
		t1 := mustThread(t, s, &hub.Thread{ID: "thr_a", PracticeID: p.ID, PatientID: patA.ID, Category: "results",
			Created: ts(0), LastActivity: ts(time.Hour), LastSender: "patient"})
		t2 := mustThread(t, s, &hub.Thread{ID: "thr_b", PracticeID: p.ID, PatientID: patA.ID, Status: hub.ThreadClosed,
			AssignedTo: "stf_1", Created: ts(0), LastActivity: ts(3 * time.Hour), StaffUnread: 2})
		t3 := mustThread(t, s, &hub.Thread{ID: "thr_c", PracticeID: p.ID, PatientID: patB.ID, AssignedTo: "stf_1",
			Created: ts(0), LastActivity: ts(2 * time.Hour), StaffUnread: 1, PatientUnread: 3, LastNoticeAt: usPtr(ts(time.Minute))})
		t4 := mustThread(t, s, &hub.Thread{ID: "thr_d", PracticeID: p.ID, PatientID: patB.ID,
			Created: ts(0), LastActivity: ts(2 * time.Hour)})
		got, err = s.GetThread(ctx, p.ID, t3.ID)
		if err != nil {
			t.Fatalf("GetThread: %v", err)
		}
		wantEqual(t, "thread with every field", *got, *t3)

		tests := []struct {
			name string
			f    hub.ThreadFilter
			want []string
		}{
			{"all", hub.ThreadFilter{}, []string{t2.ID, t4.ID, t3.ID, t1.ID, d.ID}},
			{"patient", hub.ThreadFilter{PatientID: patA.ID}, []string{t2.ID, t1.ID, d.ID}},
			{"open", hub.ThreadFilter{Status: hub.ThreadOpen}, []string{t4.ID, t3.ID, t1.ID}},
			{"closed", hub.ThreadFilter{Status: hub.ThreadClosed}, []string{t2.ID, d.ID}},
			{"assigned", hub.ThreadFilter{AssignedTo: "stf_1"}, []string{t2.ID, t3.ID}},
			{"unassigned", hub.ThreadFilter{AssignedTo: "-"}, []string{t4.ID, t1.ID, d.ID}},
			{"unread", hub.ThreadFilter{Unread: true}, []string{t2.ID, t3.ID}},
			{"patient, open, unread", hub.ThreadFilter{PatientID: patB.ID, Status: hub.ThreadOpen, Unread: true}, []string{t3.ID}},
			{"limit", hub.ThreadFilter{Limit: 2}, []string{t2.ID, t4.ID}},
			{"page after a tie", hub.ThreadFilter{BeforeID: t4.ID, Limit: 2}, []string{t3.ID, t1.ID}},
			{"page after first", hub.ThreadFilter{BeforeID: t2.ID, Limit: 1}, []string{t4.ID}},
			{"page with filter", hub.ThreadFilter{Status: hub.ThreadOpen, BeforeID: t4.ID}, []string{t3.ID, t1.ID}},
			{"page past the end", hub.ThreadFilter{BeforeID: d.ID}, nil},
			{"page from unknown", hub.ThreadFilter{BeforeID: "thr_missing"}, nil},
			{"no match", hub.ThreadFilter{PatientID: "pat_nobody"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f.PracticeID = p.ID
				got, err := s.ListThreads(ctx, tt.f)
				if err != nil {
					t.Fatalf("ListThreads: %v", err)
				}
				wantEqual(t, "ids", threadIDs(got), tt.want)
			})
		}
		_, err = s.ListThreads(ctx, hub.ThreadFilter{})
		if err == nil {
			t.Error("ListThreads without a practice succeeded")
		}
		all, err := s.ListThreads(ctx, hub.ThreadFilter{PracticeID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "listed thread", all[2], *t3)

		// Latest open thread: ties by id; closed threads never.
		latest := func(patientID, want string) {
			t.Helper()
			got, err := s.LatestOpenThread(ctx, p.ID, patientID)
			if want == "" {
				wantErr(t, "LatestOpenThread", err, hub.ErrNoRows)
				return
			}
			if err != nil || got.ID != want {
				t.Errorf("LatestOpenThread = %+v, %v; want %s", got, err, want)
			}
		}
		latest(patA.ID, t1.ID)
		latest(patB.ID, t4.ID)

		// Update writes every mutable field.
		up := *t3
		up.Category, up.Status, up.AssignedTo = "admin", hub.ThreadOpen, ""
		up.LastActivity, up.LastSender = ts(4*time.Hour), "staff"
		up.StaffUnread, up.PatientUnread, up.LastNoticeAt = 0, 4, usPtr(ts(4*time.Hour))
		up.PatientID, up.Created = "pat_ignored", ts(9*time.Hour) // not written
		if err := s.UpdateThread(ctx, &up); err != nil {
			t.Fatalf("UpdateThread: %v", err)
		}
		got, err = s.GetThread(ctx, p.ID, t3.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := up
		want.LastActivity, want.PatientID, want.Created = us(ts(4*time.Hour)), t3.PatientID, t3.Created
		wantEqual(t, "updated thread", *got, want)
		latest(patB.ID, t3.ID)
		up.LastNoticeAt = nil
		if err := s.UpdateThread(ctx, &up); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetThread(ctx, p.ID, t3.ID); got == nil || got.LastNoticeAt != nil {
			t.Errorf("LastNoticeAt not cleared: %+v", got)
		}
		t1.Status = hub.ThreadClosed
		if err := s.UpdateThread(ctx, t1); err != nil {
			t.Fatal(err)
		}
		latest(patA.ID, "")
		missing := *t1
		missing.ID = "thr_missing"
		wantErr(t, "UpdateThread missing", s.UpdateThread(ctx, &missing), hub.ErrNoRows)

		// A thread needs a patient of the practice.
		if err := s.CreateThread(ctx, &hub.Thread{PracticeID: p.ID, PatientID: "pat_missing"}); err == nil {
			t.Error("CreateThread for a missing patient succeeded")
		}
	})
}

func TestMessages(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		pat := mustPatient(t, s, p.ID, "A")
		th := mustThread(t, s, &hub.Thread{PracticeID: p.ID, PatientID: pat.ID})
		other := mustThread(t, s, &hub.Thread{PracticeID: p.ID, PatientID: pat.ID})

		m1 := &hub.SecureMessage{ID: "msg_0001", PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", SenderID: pat.ID,
			Ciphertext: []byte{0xc1, 0, 0xff}, Size: 42, Via: "sms", ArrivedUnencrypted: true, ProviderID: "SM123", Created: ts(0)}
		m2 := &hub.SecureMessage{ID: "msg_0002", PracticeID: p.ID, ThreadID: th.ID, SenderKind: "staff", SenderID: "stf_1",
			Ciphertext: []byte("c2"), Size: 2, Via: "portal", Created: ts(time.Minute)}
		m3 := &hub.SecureMessage{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "system", Ciphertext: []byte("c3"), Via: "portal"}
		mo := &hub.SecureMessage{PracticeID: p.ID, ThreadID: other.ID, SenderKind: "staff", Ciphertext: []byte("o"), Via: "portal"}
		for _, m := range []*hub.SecureMessage{m1, m2, m3, mo} {
			if err := s.AddMessage(ctx, m); err != nil {
				t.Fatalf("AddMessage: %v", err)
			}
		}
		if m3.ID <= m2.ID || m3.Created.IsZero() {
			t.Fatalf("AddMessage defaults: ID %q Created %v", m3.ID, m3.Created)
		}
		got, err := s.GetMessage(ctx, p.ID, m1.ID)
		if err != nil {
			t.Fatalf("GetMessage: %v", err)
		}
		wantEqual(t, "message", *got, *m1)
		_, err = s.GetMessage(ctx, p.ID, "msg_missing")
		wantErr(t, "GetMessage missing", err, hub.ErrNoRows)

		list := func(afterID string, limit int) []hub.SecureMessage {
			t.Helper()
			l, err := s.ListMessages(ctx, p.ID, th.ID, afterID, limit)
			if err != nil {
				t.Fatalf("ListMessages: %v", err)
			}
			return l
		}
		wantEqual(t, "messages", list("", 0), []hub.SecureMessage{*m1, *m2, *m3})
		wantEqual(t, "messages after m1", list(m1.ID, 0), []hub.SecureMessage{*m2, *m3})
		wantEqual(t, "messages, limit 1", list("", 1), []hub.SecureMessage{*m1})
		wantEqual(t, "messages after the last", list(m3.ID, 0), []hub.SecureMessage(nil))

		// De-duplication by (practice, via, provider id).
		dup := &hub.SecureMessage{PracticeID: p.ID, ThreadID: other.ID, SenderKind: "patient", Via: "sms", ProviderID: "SM123"}
		wantErr(t, "AddMessage duplicate provider id", s.AddMessage(ctx, dup), hub.ErrConflict)
		for _, m := range []*hub.SecureMessage{
			{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", Via: "email", ProviderID: "SM123"},
			{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", Via: "sms", ProviderID: "SM124"},
			{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", Via: "sms"},
			{PracticeID: p.ID, ThreadID: th.ID, SenderKind: "patient", Via: "sms"},
		} {
			if err := s.AddMessage(ctx, m); err != nil {
				t.Errorf("AddMessage via %s provider id %q: %v", m.Via, m.ProviderID, err)
			}
		}
		if n := len(list("", 0)); n != 7 {
			t.Errorf("thread has %d messages, want 7", n)
		}

		// A message needs a thread of the practice.
		if err := s.AddMessage(ctx, &hub.SecureMessage{PracticeID: p.ID, ThreadID: "thr_missing", SenderKind: "staff"}); err == nil {
			t.Error("AddMessage to a missing thread succeeded")
		}
	})
}

// TestAddKeyConcurrent: however concurrent adds for one owner interleave,
// the owner ends with one current key. In PostgreSQL a loser may get
// hub.ErrConflict (the one-current-key index); in SQLite adds queue.
func TestAddKeyConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		mustKey(t, s, p.ID, hub.OwnerStaff, "stf_1", "OLD", ts(0))
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				errs <- s.AddKey(ctx, &hub.Key{PracticeID: p.ID, OwnerKind: hub.OwnerStaff, OwnerID: "stf_1",
					Fingerprint: string(rune('A' + i)), Created: ts(time.Duration(i+1) * time.Minute)})
			}()
		}
		added := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				added++
			case !errors.Is(err, hub.ErrConflict):
				t.Errorf("AddKey: %v", err)
			}
		}
		keys, err := s.ListKeys(ctx, p.ID, hub.OwnerStaff, "stf_1")
		if err != nil {
			t.Fatal(err)
		}
		current := 0
		for _, k := range keys {
			if k.Superseded == nil {
				current++
			}
		}
		if added == 0 || len(keys) != added+1 || current != 1 {
			t.Errorf("%d adds succeeded; %d keys, %d current; want %d keys, 1 current", added, len(keys), current, added+1)
		}
		if _, err := s.CurrentKey(ctx, p.ID, hub.OwnerStaff, "stf_1"); err != nil {
			t.Errorf("CurrentKey: %v", err)
		}
	})
}
