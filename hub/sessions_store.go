package hub

import (
	"context"
	"time"
)

// Session is a staff member's signed-in web inbox session. The session
// token itself is never stored: only its SHA-256, so a copy of the
// database does not sign anyone in.
type Session struct {
	TokenHash  []byte // SHA-256 of the cookie's token; the key
	PracticeID string
	StaffID    string
	// CSRF is the session's anti-forgery token, sent back in forms and in
	// the X-CSRF-Token header.
	CSRF string
	// MFAPending: the password was right and a second-factor code is still
	// due. Such a session signs nobody in; it only lets the code be sent.
	MFAPending bool
	Source     string // remote address at sign-in
	Created    time.Time
	LastSeen   time.Time
}

// LoginThrottle is the failed sign-in count of one key: an account (a hash
// of the email, whether or not it exists) or a remote address.
type LoginThrottle struct {
	Key         string
	Failures    int
	FirstAt     time.Time  // the first failure counted
	LockedUntil *time.Time // nil when not locked
}

// StaffTOTP is a staff member's TOTP second factor. Secret is sealed by the
// Service with its settings key; the store never sees it in the clear.
type StaffTOTP struct {
	PracticeID string
	StaffID    string
	Secret     []byte     // sealed
	Confirmed  *time.Time // nil while enrolment waits for a first code
	LastStep   int64      // the last time step accepted (no replays)
	Created    time.Time
}

// SessionStore is the part of Store for staff web sessions, sign-in
// throttling and second factors.
type SessionStore interface {
	// CreateSession inserts a session; ErrConflict if its hash exists.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession finds a session by token hash, whatever its practice;
	// ErrNoRows when none.
	GetSession(ctx context.Context, tokenHash []byte) (*Session, error)
	// TouchSession sets LastSeen; ErrNoRows when the session is gone.
	TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// DeleteSession removes a session; deleting one that is gone is not an
	// error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteStaffSessions removes every session of a staff member.
	DeleteStaffSessions(ctx context.Context, practiceID, staffID string) (int64, error)
	// DeleteExpiredSessions removes sessions last seen before idleBefore or
	// created before createdBefore.
	DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)

	// CountLoginFailure counts one failed sign-in for key at at, in one
	// statement (concurrent failures all count). A count whose first
	// failure is before windowStart starts again at 1. It returns the row
	// as it is after the update.
	CountLoginFailure(ctx context.Context, key string, at, windowStart time.Time) (*LoginThrottle, error)
	// LockLogin locks key until until and starts its count again.
	LockLogin(ctx context.Context, key string, until time.Time) error
	// GetLoginThrottle reads key's row; ErrNoRows when it has none.
	GetLoginThrottle(ctx context.Context, key string) (*LoginThrottle, error)
	// ClearLoginFailures forgets key's failures (after a good sign-in).
	ClearLoginFailures(ctx context.Context, key string) error
	// DeleteStaleLoginThrottles removes rows whose first failure and lock
	// are both before t.
	DeleteStaleLoginThrottles(ctx context.Context, t time.Time) (int64, error)

	// PutStaffTOTP inserts or replaces a staff member's second factor.
	PutStaffTOTP(ctx context.Context, t *StaffTOTP) error
	// GetStaffTOTP reads it; ErrNoRows when the staff member has none.
	GetStaffTOTP(ctx context.Context, practiceID, staffID string) (*StaffTOTP, error)
	// UseTOTPStep records step as used if it is later than the last one,
	// atomically; ErrNoRows when it is not (a replayed code) or there is
	// no second factor.
	UseTOTPStep(ctx context.Context, practiceID, staffID string, step int64) error
	// DeleteStaffTOTP removes it (nil when there is none).
	DeleteStaffTOTP(ctx context.Context, practiceID, staffID string) error
}
