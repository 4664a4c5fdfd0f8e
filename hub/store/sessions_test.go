package store_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func sessionStaff(t *testing.T, s *store.Store, practiceID, email string) *hub.Staff {
	t.Helper()
	st := &hub.Staff{PracticeID: practiceID, Email: email, Name: "Sione Taufa", PasswordHash: "x", Created: ts(0)}
	if err := s.CreateStaff(t.Context(), st); err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	return st
}

func tokenHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		st := sessionStaff(t, s, p.ID, "sione@kauri.example")

		_, err := s.GetSession(ctx, tokenHash("nope"))
		wantErr(t, "GetSession unknown", err, hub.ErrNoRows)

		sess := &hub.Session{TokenHash: tokenHash("a"), PracticeID: p.ID, StaffID: st.ID, CSRF: "csrf-a",
			MFAPending: true, Source: "192.0.2.1", Created: ts(0)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if sess.LastSeen != us(ts(0)) {
			t.Errorf("LastSeen defaulted to %v, want Created", sess.LastSeen)
		}
		got, err := s.GetSession(ctx, tokenHash("a"))
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		wantEqual(t, "session", *got, *sess)
		wantErr(t, "CreateSession twice", s.CreateSession(ctx, sess), hub.ErrConflict)

		if err := s.TouchSession(ctx, tokenHash("a"), ts(10*time.Minute)); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		got, _ = s.GetSession(ctx, tokenHash("a"))
		if got.LastSeen != us(ts(10*time.Minute)) {
			t.Errorf("LastSeen after touch = %v", got.LastSeen)
		}
		wantErr(t, "TouchSession unknown", s.TouchSession(ctx, tokenHash("zz"), ts(0)), hub.ErrNoRows)

		// Expiry: a (last seen +10 min) and b (+0) are idle at +1 h, c was
		// seen recently but created 13 h before, d is live.
		for name, times := range map[string][2]time.Duration{
			"b": {0, 0}, "c": {-13 * time.Hour, 50 * time.Minute}, "d": {30 * time.Minute, 50 * time.Minute}} {
			if err := s.CreateSession(ctx, &hub.Session{TokenHash: tokenHash(name), PracticeID: p.ID, StaffID: st.ID,
				CSRF: "c", Created: ts(times[0]), LastSeen: ts(times[1])}); err != nil {
				t.Fatalf("CreateSession %s: %v", name, err)
			}
		}
		now := ts(time.Hour)
		n, err := s.DeleteExpiredSessions(ctx, now.Add(-30*time.Minute), now.Add(-12*time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 3 (a, b idle, c too old)", n, err)
		}
		for name, want := range map[string]bool{"a": false, "b": false, "c": false, "d": true} {
			_, err := s.GetSession(ctx, tokenHash(name))
			if (err == nil) != want {
				t.Errorf("session %s after cleanup: err %v, want present=%v", name, err, want)
			}
		}
		if err := s.DeleteSession(ctx, tokenHash("d")); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if err := s.DeleteSession(ctx, tokenHash("d")); err != nil {
			t.Fatalf("DeleteSession again: %v", err)
		}
		_, err = s.GetSession(ctx, tokenHash("d"))
		wantErr(t, "GetSession after delete", err, hub.ErrNoRows)

		for _, name := range []string{"e", "f"} {
			if err := s.CreateSession(ctx, &hub.Session{TokenHash: tokenHash(name), PracticeID: p.ID, StaffID: st.ID, CSRF: "c"}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.DeleteStaffSessions(ctx, "prc_other", st.ID); err != nil || n != 0 {
			t.Errorf("DeleteStaffSessions of another practice = %d, %v", n, err)
		}
		if n, err := s.DeleteStaffSessions(ctx, p.ID, st.ID); err != nil || n != 2 {
			t.Errorf("DeleteStaffSessions = %d, %v; want 2", n, err)
		}
	})
}

func TestStaffTOTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		st := sessionStaff(t, s, p.ID, "sione@kauri.example")
		_, err := s.GetStaffTOTP(ctx, p.ID, st.ID)
		wantErr(t, "GetStaffTOTP before any", err, hub.ErrNoRows)
		tt := &hub.StaffTOTP{PracticeID: p.ID, StaffID: st.ID, Secret: []byte("sealed-1"), Created: ts(0)}
		if err := s.PutStaffTOTP(ctx, tt); err != nil {
			t.Fatalf("PutStaffTOTP: %v", err)
		}
		got, err := s.GetStaffTOTP(ctx, p.ID, st.ID)
		if err != nil {
			t.Fatalf("GetStaffTOTP: %v", err)
		}
		wantEqual(t, "totp", *got, hub.StaffTOTP{PracticeID: p.ID, StaffID: st.ID, Secret: []byte("sealed-1"), Created: us(ts(0))})
		_, err = s.GetStaffTOTP(ctx, "prc_other", st.ID)
		wantErr(t, "GetStaffTOTP of another practice", err, hub.ErrNoRows)

		got.Confirmed = usPtr(ts(time.Minute))
		if err := s.PutStaffTOTP(ctx, got); err != nil {
			t.Fatalf("PutStaffTOTP confirm: %v", err)
		}
		if err := s.UseTOTPStep(ctx, p.ID, st.ID, 100); err != nil {
			t.Fatalf("UseTOTPStep: %v", err)
		}
		wantErr(t, "UseTOTPStep replay", s.UseTOTPStep(ctx, p.ID, st.ID, 100), hub.ErrNoRows)
		wantErr(t, "UseTOTPStep older", s.UseTOTPStep(ctx, p.ID, st.ID, 99), hub.ErrNoRows)
		got, _ = s.GetStaffTOTP(ctx, p.ID, st.ID)
		if got.LastStep != 100 || got.Confirmed == nil || *got.Confirmed != us(ts(time.Minute)) {
			t.Fatalf("after use: %+v", got)
		}
		if err := s.DeleteStaffTOTP(ctx, p.ID, st.ID); err != nil {
			t.Fatalf("DeleteStaffTOTP: %v", err)
		}
		_, err = s.GetStaffTOTP(ctx, p.ID, st.ID)
		wantErr(t, "after delete", err, hub.ErrNoRows)
	})
}
