package hub

import (
	"crypto/subtle"
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

// CheckCSRF compares a request's token with the session's in constant time.
func (sess *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}
