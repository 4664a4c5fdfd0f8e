package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// Staff web sessions. The cookie carries a random 256-bit token; the
// database keeps only its SHA-256, so neither a database copy nor a log of
// queries signs anyone in. A session ends after SessionIdleTimeout without
// a request, after SessionMaxAge in any case, and at sign-out (deleted
// server-side, so an old cookie is refused).
const (
	// SessionCookie names the session cookie.
	SessionCookie = "karere_session"
	// BackgroundHeader marks requests a page makes by itself (refreshing
	// on live events, polling): they do not slide a session's idle expiry,
	// so an unattended inbox still signs itself out.
	BackgroundHeader = "X-Karere-Background"
	// SessionIdleTimeout ends a session nobody used for this long: a
	// shared reception computer left signed in locks itself.
	SessionIdleTimeout = 30 * time.Minute
	// SessionMaxAge ends every session, used or not: one working day.
	SessionMaxAge = 12 * time.Hour
	// MFAPendingTimeout is how long the second-factor step may take.
	MFAPendingTimeout = 5 * time.Minute
	// sessionTouchEvery spares the database a write on every request: the
	// idle clock is at most this much behind.
	sessionTouchEvery = time.Minute
)

// Session errors.
var (
	// ErrSignInFailed is the one answer to a wrong email, a wrong password
	// or a wrong code: it does not say which.
	ErrSignInFailed = &hub.Error{Kind: hub.KindUnauthorized, Code: "sign_in_failed",
		Message: "the email address or password is not right"}
	// ErrNoSession: the session cookie is missing, unknown or expired.
	ErrNoSession = &hub.Error{Kind: hub.KindUnauthorized, Code: "unauthorized",
		Message: "sign in again: the session has ended"}
	// ErrCSRF: a state-changing request without the session's CSRF token.
	ErrCSRF = &hub.Error{Kind: hub.KindForbidden, Code: "csrf_failed",
		Message: "missing or wrong CSRF token: send the session's token in X-CSRF-Token"}
)

// SignIn is a session just made. Token is the cookie value, given once.
type SignIn struct {
	Token   string
	Session *hub.Session
	Staff   *hub.Staff
}

// NeedsCode reports whether the second-factor step is still due.
func (si *SignIn) NeedsCode() bool { return si.Session.MFAPending }

// HashSessionToken is what the store keys a session by.
func HashSessionToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// dummyHash is checked for an unknown email, so that it costs what a
// known one does: a hash of nothing with HashPassword's parameters (a
// constant, so that making it costs no 64 MiB at run time; a test keeps
// its parameters equal to HashPassword's).
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$g1meU1p16mTrWSzWOGZP0A$VE6iQt6q3RViojjuKdqB0lonszSESzTfYJwyxXDseKE"

// checkPassword checks password against hash, or against dummyHash when
// there is no account (hash ""). The caller holds a check slot, and keeps
// it until the check's 64 MiB is collected: otherwise the garbage of
// finished checks piles up until the next GC (GOGC lets the heap double),
// and the slots would bound only half the memory.
func (s *Service) checkPassword(hash, password string) bool {
	s.stats.passwordChecks.Add(1)
	defer runtime.GC()
	if hash == "" {
		CheckPassword(dummyHash, password)
		return false
	}
	return CheckPassword(hash, password)
}

// SignIn checks a staff member's email and password and opens a session
// (one waiting for a TOTP code when the staff member has enrolled one).
//
// The attempt is counted first (throttle.go): when a counter says wait,
// the answer is ErrSignInLocked with RetryAfter and no password is
// checked. When every password check slot is taken it is ErrSignInBusy
// and the attempt is not counted. A wrong email or password is
// ErrSignInFailed, whether or not the email exists.
func (s *Service) SignIn(ctx context.Context, email, password, source string) (*SignIn, error) {
	if len(s.checks) == cap(s.checks) { // spare Redis while checks are saturated
		s.stats.busy.Add(1)
		return nil, ErrSignInBusy
	}
	now := s.Now()
	email = strings.ToLower(strings.TrimSpace(email))
	acct, addr := accountKey(email), addressName(source)
	known, err := s.attempts.Marked(ctx, "known:"+acct, addr, now, KnownAddressFor)
	if err != nil {
		return nil, &hub.Error{Kind: hub.KindUnavailable, Code: "unavailable", Message: hub.ErrUnavailable.Message, Err: err}
	}
	counters := passwordCounters(acct, addr, known)
	if err := s.countAttempt(ctx, now, counters); err != nil {
		return nil, err
	}
	if !s.tryCheckSlot() {
		s.stats.busy.Add(1)
		undo := make([]Counter, len(counters))
		for i, c := range counters {
			c.Clear = false // take back this attempt only
			undo[i] = c
		}
		s.settle(ctx, undo)
		return nil, ErrSignInBusy
	}
	st, err := s.store.GetStaffByEmail(ctx, email)
	hash := ""
	switch {
	case errors.Is(err, hub.ErrNoRows):
	case err != nil:
		s.releaseCheckSlot()
		return nil, err
	default:
		hash = st.PasswordHash
	}
	ok := s.checkPassword(hash, password)
	s.releaseCheckSlot()
	if !ok {
		if st != nil {
			_ = s.audit.Record(ctx, hub.Actor{PracticeID: st.PracticeID, ID: "staff:" + st.ID, Source: source},
				"staff.sign_in_failed", "", st.ID)
		}
		return nil, ErrSignInFailed
	}
	s.settle(ctx, counters)
	pending, err := s.TOTPEnabled(ctx, st.PracticeID, st.ID)
	if err != nil {
		return nil, err
	}
	// Sign-in is rare: a good moment to drop expired sessions.
	if _, err := s.CleanSessions(ctx); err != nil {
		s.log.Warn("session cleanup failed", "err", err)
	}
	si, err := s.newSession(ctx, st, pending, source, "staff.sign_in")
	if err == nil && !pending {
		s.rememberAddress(ctx, st.Email, source)
	}
	return si, err
}

func (s *Service) newSession(ctx context.Context, st *hub.Staff, pending bool, source, action string) (*SignIn, error) {
	now := s.Now()
	token := randomToken()
	sess := &hub.Session{TokenHash: HashSessionToken(token), PracticeID: st.PracticeID, StaffID: st.ID, CSRF: randomToken(),
		MFAPending: pending, Source: source, Created: now, LastSeen: now}
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		if pending {
			action += ".password"
		}
		return s.audit.Record(ctx, hub.Actor{PracticeID: st.PracticeID, ID: "staff:" + st.ID, Source: source}, action, "", st.ID)
	})
	if err != nil {
		return nil, err
	}
	return &SignIn{Token: token, Session: sess, Staff: st}, nil
}

// Session returns the live session a token names and its staff member.
// touch slides its idle expiry: pass false for requests the page makes by
// itself (live updates, polling), so an unattended page still times out.
// A session past its idle or absolute limit is deleted and gives
// ErrNoSession, as does an unknown token.
func (s *Service) Session(ctx context.Context, token string, touch bool) (*hub.Session, *hub.Staff, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, ErrNoSession
	}
	hash := HashSessionToken(token)
	sess, err := s.store.GetSession(ctx, hash)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.Now()
	idle := SessionIdleTimeout
	if sess.MFAPending {
		idle = MFAPendingTimeout
	}
	if now.Sub(sess.LastSeen) > idle || now.Sub(sess.Created) > SessionMaxAge {
		if err := s.store.DeleteSession(ctx, hash); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrNoSession
	}
	st, err := s.store.GetStaff(ctx, sess.PracticeID, sess.StaffID)
	if errors.Is(err, hub.ErrNoRows) {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	if touch && now.Sub(sess.LastSeen) >= sessionTouchEvery {
		if err := s.store.TouchSession(ctx, hash, now); errors.Is(err, hub.ErrNoRows) {
			return nil, nil, ErrNoSession // signed out meanwhile
		} else if err != nil {
			return nil, nil, err
		}
		sess.LastSeen = now
	}
	return sess, st, nil
}

// StaffActor is the Actor of a signed-in staff member.
func StaffActor(sess *hub.Session, source string) hub.Actor {
	return hub.Actor{PracticeID: sess.PracticeID, ID: "staff:" + sess.StaffID, StaffID: sess.StaffID, Mode: hub.ModeLive, Source: source}
}

// AuthenticateSession is the JSON API's check of a session cookie: a live,
// fully signed-in session, and, for a request that changes state
// (mutating), the session's CSRF token (ErrCSRF otherwise). A background
// request (the page polling by itself) does not slide the idle expiry.
func (s *Service) AuthenticateSession(ctx context.Context, token, csrf string, mutating, background bool, source string) (hub.Actor, error) {
	sess, _, err := s.Session(ctx, token, !background)
	if err != nil {
		return hub.Actor{}, err
	}
	if sess.MFAPending {
		return hub.Actor{}, ErrNoSession
	}
	if mutating && !sess.CheckCSRF(csrf) {
		return hub.Actor{}, ErrCSRF
	}
	return StaffActor(sess, source), nil
}

// SignOut deletes the session a token names (nothing when there is none).
func (s *Service) SignOut(ctx context.Context, token, source string) error {
	hash := HashSessionToken(token)
	sess, err := s.store.GetSession(ctx, hash)
	if errors.Is(err, hub.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, hash); err != nil {
			return err
		}
		return s.audit.Record(ctx, StaffActor(sess, source), "staff.sign_out", "", sess.StaffID)
	})
}

// CleanSessions deletes expired sessions. (Sign-in counters expire in
// Redis by themselves.)
func (s *Service) CleanSessions(ctx context.Context) (int64, error) {
	now := s.Now()
	return s.store.DeleteExpiredSessions(ctx, now.Add(-SessionIdleTimeout), now.Add(-SessionMaxAge))
}
