package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// TOTP second factor (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits,
// what every authenticator app reads from an otpauth:// URI). The secret
// is sealed at rest with the Service's settings key; a code is accepted
// once (its step is recorded) and one step either side of now.
const (
	totpPeriod = 30
	totpDigits = 6
	totpSkew   = 1
	// TOTPIssuer is the issuer shown in authenticator apps.
	TOTPIssuer = "Karere"
)

// TOTPCode is the code for secret at time t.
func TOTPCode(secret []byte, t time.Time) string { return totpAt(secret, t.Unix()/totpPeriod) }

func totpAt(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	h := m.Sum(nil)
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, v%1_000_000)
}

// checkTOTP returns the step code matches near now (ok false when none).
func checkTOTP(secret []byte, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		if subtle.ConstantTimeCompare([]byte(totpAt(secret, cur+d)), []byte(code)) == 1 {
			return cur + d, true
		}
	}
	return 0, false
}

func totpKind(staffID string) string { return "totp:" + staffID }

// TOTPEnabled reports whether a staff member has a confirmed second factor.
func (s *Service) TOTPEnabled(ctx context.Context, practiceID, staffID string) (bool, error) {
	t, err := s.store.GetStaffTOTP(ctx, practiceID, staffID)
	if errors.Is(err, hub.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.Confirmed != nil, nil
}

// TOTPEnrolment is a new secret waiting for its first code.
type TOTPEnrolment struct {
	Secret string // base32, for typing into an app
	URI    string // otpauth://totp/...
}

// BeginTOTP makes a new secret for the signed-in staff member, replacing
// an unconfirmed one. It is not used for sign-in until ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, a hub.Actor) (*TOTPEnrolment, error) {
	if a.StaffID == "" {
		return nil, hub.ErrForbidden
	}
	if on, err := s.TOTPEnabled(ctx, a.PracticeID, a.StaffID); err != nil {
		return nil, err
	} else if on {
		return nil, hub.Conflict("totp_enabled", "two-step sign-in is on already: turn it off first")
	}
	st, err := s.store.GetStaff(ctx, a.PracticeID, a.StaffID)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	sealed, err := s.seal.Seal(a.PracticeID, totpKind(a.StaffID), secret)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutStaffTOTP(ctx, &hub.StaffTOTP{PracticeID: a.PracticeID, StaffID: a.StaffID, Secret: sealed,
		Created: s.Now()}); err != nil {
		return nil, err
	}
	b32s := b32.EncodeToString(secret)
	label := url.PathEscape(TOTPIssuer + ":" + st.Email)
	q := url.Values{"secret": {b32s}, "issuer": {TOTPIssuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return &TOTPEnrolment{Secret: b32s, URI: "otpauth://totp/" + label + "?" + q.Encode()}, nil
}

// verifyTOTP checks code against the staff member's secret and uses its
// step up, so a code works once.
func (s *Service) verifyTOTP(ctx context.Context, practiceID, staffID, code string) (*hub.StaffTOTP, bool, error) {
	t, err := s.store.GetStaffTOTP(ctx, practiceID, staffID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var secret []byte
	if err := s.seal.Open(practiceID, totpKind(staffID), t.Secret, &secret); err != nil {
		return nil, false, err
	}
	s.stats.totpChecks.Add(1)
	step, ok := checkTOTP(secret, code, s.Now())
	if !ok {
		return t, false, nil
	}
	if err := s.store.UseTOTPStep(ctx, practiceID, staffID, step); errors.Is(err, hub.ErrNoRows) {
		return t, false, nil // replayed
	} else if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// ConfirmTOTP turns the second factor on once the app shows a right code.
func (s *Service) ConfirmTOTP(ctx context.Context, a hub.Actor, code string) error {
	t, ok, err := s.verifyTOTP(ctx, a.PracticeID, a.StaffID, code)
	if err != nil {
		return err
	}
	if t == nil {
		return hub.Invalid("code", "no_enrolment", "start enrolment first")
	}
	if !ok {
		return hub.Invalid("code", "wrong_code", "that code is not right: check the app and the phone's clock")
	}
	now := s.Now()
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		cur, err := s.store.GetStaffTOTP(ctx, a.PracticeID, a.StaffID)
		if err != nil {
			return err
		}
		cur.Confirmed = &now
		if err := s.store.PutStaffTOTP(ctx, cur); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "staff.totp.enable", "", a.StaffID)
	})
}

// DisableTOTP turns the second factor off; it takes a current code,
// counted as a sign-in code is (a stolen session cannot guess its way to
// turning it off).
func (s *Service) DisableTOTP(ctx context.Context, a hub.Actor, code string) error {
	counters := totpCounters(a.StaffID)
	if err := s.countAttempt(ctx, s.Now(), counters); err != nil {
		return err
	}
	t, ok, err := s.verifyTOTP(ctx, a.PracticeID, a.StaffID, code)
	if err != nil {
		return err
	}
	if ok {
		s.settle(ctx, counters)
	}
	if t == nil || t.Confirmed == nil {
		return hub.Invalid("code", "totp_off", "two-step sign-in is not on")
	}
	if !ok {
		return hub.Invalid("code", "wrong_code", "that code is not right")
	}
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.DeleteStaffTOTP(ctx, a.PracticeID, a.StaffID); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "staff.totp.disable", "", a.StaffID)
	})
}

// CompleteSignIn takes the TOTP code for a session that SignIn left
// waiting for one, and replaces it with a full session (a new token: the
// waiting one is deleted). Codes are counted per staff member before they
// are compared (throttle.go): ErrSignInLocked with RetryAfter after too
// many wrong ones; the waiting session stays, so the staff member types
// the next code once the wait is over.
func (s *Service) CompleteSignIn(ctx context.Context, token, code, source string) (*SignIn, error) {
	sess, st, err := s.Session(ctx, token, true)
	if err != nil {
		return nil, err
	}
	if !sess.MFAPending {
		return nil, hub.Invalid("code", "no_code_due", "this session is signed in already")
	}
	// The code counter is the staff member's own: a right password
	// never clears it, only a right code does.
	counters := totpCounters(st.ID)
	if err := s.countAttempt(ctx, s.Now(), counters); err != nil {
		return nil, err
	}
	_, ok, err := s.verifyTOTP(ctx, st.PracticeID, st.ID, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrSignInFailed
	}
	s.settle(ctx, counters)
	if err := s.store.DeleteSession(ctx, sess.TokenHash); err != nil {
		return nil, err
	}
	si, err := s.newSession(ctx, st, false, source, "staff.sign_in.totp")
	if err == nil {
		s.rememberAddress(ctx, st.Email, source)
	}
	return si, err
}
