package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
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

// Sign-in throttling: failures are counted per account (the email, known
// or not, so the lock reveals nothing about which accounts exist) and per
// remote address. A practice's staff usually share one address behind NAT,
// so the per-address limit is higher.
const (
	LoginMaxFailures           = 5
	LoginMaxFailuresPerAddress = 20
	LoginWindow                = 15 * time.Minute
	LoginLockout               = 15 * time.Minute
)

// Session errors.
var (
	// ErrSignInFailed is the one answer to a wrong email, a wrong password
	// or a wrong code: it does not say which.
	ErrSignInFailed = &hub.Error{Kind: hub.KindUnauthorized, Code: "sign_in_failed",
		Message: "the email address or password is not right"}
	// ErrSignInLocked: too many failures for the account or the address.
	ErrSignInLocked = &hub.Error{Kind: hub.KindRateLimited, Code: "sign_in_locked",
		Message: "too many failed sign-ins: wait 15 minutes and try again"}
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

var (
	dummyOnce sync.Once
	dummyHash string
)

// spendPasswordCheck costs what a real password check costs, so that an
// unknown email answers no faster than a known one.
func spendPasswordCheck(password string) {
	dummyOnce.Do(func() { dummyHash = HashPassword("karere: no such account") })
	CheckPassword(dummyHash, password)
}

func accountThrottleKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "acct:" + hex.EncodeToString(sum[:16])
}

func addressThrottleKey(source string) string { return "addr:" + source }

// locked reports whether any of keys is locked now.
func (s *Service) locked(ctx context.Context, now time.Time, keys ...string) (bool, error) {
	for _, k := range keys {
		l, err := s.store.GetLoginThrottle(ctx, k)
		if errors.Is(err, hub.ErrNoRows) {
			continue
		}
		if err != nil {
			return false, err
		}
		if l.LockedUntil != nil && now.Before(*l.LockedUntil) {
			return true, nil
		}
	}
	return false, nil
}

// countFailure counts a failed attempt against the account and the
// address and locks whichever reached its limit.
func (s *Service) countFailure(ctx context.Context, now time.Time, acct, addr string) error {
	for _, c := range []struct {
		key   string
		limit int
	}{{acct, LoginMaxFailures}, {addr, LoginMaxFailuresPerAddress}} {
		l, err := s.store.CountLoginFailure(ctx, c.key, now, now.Add(-LoginWindow))
		if err != nil {
			return err
		}
		if l.Failures >= c.limit {
			if err := s.store.LockLogin(ctx, c.key, now.Add(LoginLockout)); err != nil {
				return err
			}
			s.log.Warn("sign-in locked after repeated failures", "key_kind", c.key[:4], "failures", l.Failures)
		}
	}
	return nil
}

// SignIn checks a staff member's email and password and opens a session
// (one waiting for a TOTP code when the staff member has enrolled one). Every
// failure is ErrSignInFailed, or ErrSignInLocked after repeated failures
// for the account or the address, whether or not the email exists.
func (s *Service) SignIn(ctx context.Context, email, password, source string) (*SignIn, error) {
	now := s.Now()
	acct, addr := accountThrottleKey(email), addressThrottleKey(source)
	if locked, err := s.locked(ctx, now, acct, addr); err != nil {
		return nil, err
	} else if locked {
		return nil, ErrSignInLocked
	}
	st, err := s.store.GetStaffByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	ok := false
	switch {
	case errors.Is(err, hub.ErrNoRows):
		spendPasswordCheck(password)
	case err != nil:
		return nil, err
	default:
		ok = CheckPassword(st.PasswordHash, password)
	}
	if !ok {
		if err := s.countFailure(ctx, now, acct, addr); err != nil {
			return nil, err
		}
		if st != nil {
			_ = s.audit.Record(ctx, hub.Actor{PracticeID: st.PracticeID, ID: "staff:" + st.ID, Source: source},
				"staff.sign_in_failed", "", st.ID)
		}
		return nil, ErrSignInFailed
	}
	if err := s.store.ClearLoginFailures(ctx, acct); err != nil {
		return nil, err
	}
	pending, err := s.TOTPEnabled(ctx, st.PracticeID, st.ID)
	if err != nil {
		return nil, err
	}
	// Sign-in is rare: a good moment to drop expired sessions.
	if _, err := s.CleanSessions(ctx); err != nil {
		s.log.Warn("session cleanup failed", "err", err)
	}
	return s.newSession(ctx, st, pending, source, "staff.sign_in")
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

// CleanSessions deletes expired sessions and stale sign-in counters.
func (s *Service) CleanSessions(ctx context.Context) (int64, error) {
	now := s.Now()
	n, err := s.store.DeleteExpiredSessions(ctx, now.Add(-SessionIdleTimeout), now.Add(-SessionMaxAge))
	if err != nil {
		return n, err
	}
	_, err = s.store.DeleteStaleLoginThrottles(ctx, now.Add(-24*time.Hour))
	return n, err
}
