package store_test

import (
	"crypto/sha256"
	"sync"
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

func TestLoginThrottle(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		_, err := s.GetLoginThrottle(ctx, "acct:x")
		wantErr(t, "GetLoginThrottle before any", err, hub.ErrNoRows)
		for i := 1; i <= 3; i++ {
			l, err := s.CountLoginFailure(ctx, "acct:x", ts(time.Duration(i)*time.Minute), ts(-15*time.Minute))
			if err != nil {
				t.Fatalf("CountLoginFailure: %v", err)
			}
			if l.Failures != i || l.FirstAt != us(ts(time.Minute)) || l.LockedUntil != nil {
				t.Fatalf("after %d failures: %+v", i, l)
			}
		}
		// A failure after the window starts the count again.
		l, err := s.CountLoginFailure(ctx, "acct:x", ts(time.Hour), ts(time.Hour-15*time.Minute))
		if err != nil || l.Failures != 1 || l.FirstAt != us(ts(time.Hour)) {
			t.Fatalf("after the window: %+v, %v", l, err)
		}
		if err := s.LockLogin(ctx, "acct:x", ts(2*time.Hour)); err != nil {
			t.Fatalf("LockLogin: %v", err)
		}
		l, err = s.GetLoginThrottle(ctx, "acct:x")
		if err != nil || l.LockedUntil == nil || *l.LockedUntil != us(ts(2*time.Hour)) || l.Failures != 0 {
			t.Fatalf("after lock: %+v, %v", l, err)
		}
		wantErr(t, "LockLogin unknown", s.LockLogin(ctx, "acct:none", ts(0)), hub.ErrNoRows)

		// Parallel failures all count (one statement each).
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.CountLoginFailure(ctx, "addr:192.0.2.9", ts(0), ts(-time.Hour)); err != nil {
					t.Errorf("parallel CountLoginFailure: %v", err)
				}
			}()
		}
		wg.Wait()
		if l, err := s.GetLoginThrottle(ctx, "addr:192.0.2.9"); err != nil || l.Failures != 8 {
			t.Fatalf("parallel failures counted %+v, %v; want 8", l, err)
		}

		// Stale rows go; a live lock stays.
		if n, err := s.DeleteStaleLoginThrottles(ctx, ts(90*time.Minute)); err != nil || n != 1 {
			t.Fatalf("DeleteStaleLoginThrottles = %d, %v; want 1 (the address)", n, err)
		}
		if err := s.ClearLoginFailures(ctx, "acct:x"); err != nil {
			t.Fatalf("ClearLoginFailures: %v", err)
		}
		_, err = s.GetLoginThrottle(ctx, "acct:x")
		wantErr(t, "after clear", err, hub.ErrNoRows)
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
