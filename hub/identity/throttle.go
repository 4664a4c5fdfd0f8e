package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// Sign-in throttling. An attempt is counted before its password is
// checked, in one atomic step shared by every hubd process (Attempts: Redis,
// internal/throttle), and refused without checking when a counter says
// wait. Each counter lets Free attempts through, then makes the next one
// wait FirstWait, doubling with each further attempt up to its longest
// wait; it forgets its count after a quiet period.
//
//	counter              free  then waits            forgotten after         a good sign-in
//	account + address      5   1 s, 2 s, ... 15 min  24 h without an attempt clears it
//	address               20   1 s, 2 s, ... 15 min  1 h without an attempt  takes its attempt back
//	account (all places) 100   1 h each               24 h without an attempt takes its attempt back
//	TOTP code (per staff)  3   1 s, 2 s, ... 15 min  24 h without an attempt a right code clears it
//
// Why these numbers:
//   - account + address is the lock a guesser meets. Keyed by the address
//     too, a guesser elsewhere slows only themselves: the staff member at
//     the practice keeps signing in. Five free attempts cover typing; the
//     doubling wait lets about 20 guesses an hour through from one place.
//   - address stops one place guessing many accounts (a password sprayed
//     over every staff email). Staff behind one practice router share an
//     address, so it allows more, and a quiet hour forgets it.
//   - account is the ceiling for guessing one account from many places:
//     at most about 100 + 24 guesses a day, about 45,000 a year, against a
//     password of at least 12 characters. It does not apply at an address
//     where the account signed in fully within KnownAddressFor, so a
//     botnet that reaches it still cannot lock the staff member out at the
//     practice; at a new address they wait (hubd staff unlock clears it).
//   - TOTP codes are counted per staff member, apart from passwords, and
//     a right password does not clear them: three wrong codes, then the
//     doubling wait, so about 3 + 20 guesses an hour at a 3-in-a-million
//     chance each.
//
// A second bound protects memory: a password check (argon2id, 64 MiB) runs
// only when one of MaxPasswordChecks slots is free; otherwise the attempt
// is refused at once with ErrSignInBusy (it is not counted). An unknown
// email is checked against a dummy hash in the same slots.
const (
	AccountAddressFree = 5
	AddressFree        = 20
	AccountFree        = 100
	TOTPFree           = 3
	// FirstWait is the first wait after the free attempts; it doubles.
	FirstWait = time.Second
	// MaxWait is the longest wait of the doubling counters.
	MaxWait = 15 * time.Minute
	// AccountWait is the account-wide ceiling's wait per attempt.
	AccountWait = time.Hour
	// AccountForget, AddressForget: quiet periods after which a count starts
	// again (the TOTP counter uses AccountForget).
	AccountForget = 24 * time.Hour
	AddressForget = time.Hour
	// KnownAddressFor is how long a full sign-in exempts an address from
	// the account-wide ceiling.
	KnownAddressFor = 30 * 24 * time.Hour
	// DefaultMaxPasswordChecks bounds concurrent argon2id checks: 2 × 64
	// MiB, and on a 2-core server two checks already use every core.
	DefaultMaxPasswordChecks = 2
	// busyRetry is the Retry-After of ErrSignInBusy: a check takes well
	// under a second.
	busyRetry = time.Second
)

// Attempts is where sign-in attempts are counted, shared by every hubd
// process (internal/throttle implements it on Redis). Keys and fields are
// opaque names made by this package; a key groups counters that Forget
// drops together.
type Attempts interface {
	// Count counts one attempt on every counter, atomically across
	// processes: when any of them says wait at now, nothing is counted
	// and the longest wait is returned; otherwise each count goes up by
	// one (a count whose last attempt is Forget old starts again) and 0
	// is returned.
	Count(ctx context.Context, now time.Time, counters []Counter) (time.Duration, error)
	// Settle takes back the attempt Count counted, after it succeeded or
	// was never evaluated: counters with Clear are dropped, the others
	// lose one attempt and get back the wait they had before it.
	Settle(ctx context.Context, counters []Counter) error
	// Forget drops every counter under the keys.
	Forget(ctx context.Context, keys ...string) error
	// Mark records field under key at now, kept for keep.
	Mark(ctx context.Context, key, field string, now time.Time, keep time.Duration) error
	// Marked reports whether field under key was marked within the last
	// within before now.
	Marked(ctx context.Context, key, field string, now time.Time, within time.Duration) (bool, error)
}

// Counter is one attempt counter and its rule.
type Counter struct {
	Key, Field string
	// Free attempts pass without waiting; the attempt that reaches Free
	// makes the next wait FirstWait, each further one doubles it, up to
	// MaxWait.
	Free      int
	FirstWait time.Duration
	MaxWait   time.Duration
	// Forget starts the count again this long after its last attempt.
	Forget time.Duration
	// Clear: a success drops the counter (else it takes one attempt back).
	Clear bool
}

// Wait is the wait after an attempt that made the count n.
func (c Counter) Wait(n int) time.Duration {
	if n < c.Free {
		return 0
	}
	d := c.FirstWait
	for i := c.Free; i < n && d < c.MaxWait; i++ {
		d *= 2
	}
	return min(d, c.MaxWait)
}

// Sign-in errors about limits.
var (
	// ErrSignInLocked: a counter says wait; RetryAfter says how long.
	ErrSignInLocked = &hub.Error{Kind: hub.KindRateLimited, Code: "sign_in_locked",
		Message: "too many failed sign-ins: wait and try again"}
	// ErrSignInBusy: every password check slot is taken; try in a second.
	ErrSignInBusy = &hub.Error{Kind: hub.KindRateLimited, Code: "sign_in_busy",
		Message: "the hub is busy checking other sign-ins: try again in a second", RetryAfter: busyRetry}
)

func locked(wait time.Duration) error {
	e := ErrSignInLocked.WithRetryAfter(wait)
	e.Message = "too many failed sign-ins: wait " + WaitText(wait) + " and try again"
	return e
}

// WaitText says a wait in words ("3 seconds", "15 minutes").
func WaitText(d time.Duration) string {
	switch s := int((d + time.Second - 1) / time.Second); {
	case s <= 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 120:
		return "1 minute"
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}

func hashName(prefix, s string) string {
	sum := sha256.Sum256([]byte(prefix + s))
	return hex.EncodeToString(sum[:12])
}

// accountKey names an email's counters: a hash, so that the counters say
// nothing of who tried, and the same for known and unknown emails.
func accountKey(email string) string {
	return "acct:" + hashName("karere sign-in account\x00", strings.ToLower(strings.TrimSpace(email)))
}

// addressName is the counted form of a client address: IPv6 addresses by
// their /64 (one subscriber's network), hashed.
func addressName(source string) string {
	if a, err := netip.ParseAddr(source); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64)
			source = p.String()
		} else {
			source = a.String()
		}
	}
	return hashName("karere sign-in address\x00", source)
}

func totpKey(staffID string) string { return "totp:" + staffID }

// passwordCounters are the counters of a password attempt; known: the
// account signed in fully from this address lately (no ceiling).
func passwordCounters(acct, addr string, known bool) []Counter {
	cs := []Counter{
		{Key: acct, Field: "addr:" + addr, Free: AccountAddressFree, FirstWait: FirstWait, MaxWait: MaxWait,
			Forget: AccountForget, Clear: true},
		{Key: "addr:" + addr, Field: "all", Free: AddressFree, FirstWait: FirstWait, MaxWait: MaxWait,
			Forget: AddressForget},
	}
	if !known {
		cs = append(cs, Counter{Key: acct, Field: "all", Free: AccountFree, FirstWait: AccountWait, MaxWait: AccountWait,
			Forget: AccountForget})
	}
	return cs
}

func totpCounters(staffID string) []Counter {
	return []Counter{{Key: totpKey(staffID), Field: "all", Free: TOTPFree, FirstWait: FirstWait, MaxWait: MaxWait,
		Forget: AccountForget, Clear: true}}
}

// countAttempt counts an attempt, or says how long to wait. A counting
// failure (Redis down) is ErrUnavailable: without counting nothing is
// checked.
func (s *Service) countAttempt(ctx context.Context, now time.Time, cs []Counter) error {
	wait, err := s.attempts.Count(ctx, now, cs)
	if err != nil {
		s.log.Error("sign-in attempts cannot be counted", "err", err)
		return &hub.Error{Kind: hub.KindUnavailable, Code: "unavailable", Message: hub.ErrUnavailable.Message, Err: err}
	}
	if wait > 0 {
		s.stats.locked.Add(1)
		return locked(wait)
	}
	return nil
}

// settle takes an attempt back; a failure only leaves it counted.
func (s *Service) settle(ctx context.Context, cs []Counter) {
	if err := s.attempts.Settle(ctx, cs); err != nil {
		s.log.Warn("sign-in attempt not taken back", "err", err)
	}
}

// tryCheckSlot takes a password check slot if one is free.
func (s *Service) tryCheckSlot() bool {
	select {
	case s.checks <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) releaseCheckSlot() { <-s.checks }

// rememberAddress exempts the address from the account-wide ceiling.
func (s *Service) rememberAddress(ctx context.Context, email, source string) {
	if err := s.attempts.Mark(ctx, "known:"+accountKey(email), addressName(source), s.Now(), KnownAddressFor); err != nil {
		s.log.Warn("sign-in address not remembered", "err", err)
	}
}

// Unlock clears a staff member's sign-in counters: their account at every
// address, the account-wide ceiling and their TOTP code counter (for
// `hubd staff unlock`). Address counters, shared by everyone at an
// address, stay.
func (s *Service) Unlock(ctx context.Context, st *hub.Staff) error {
	return s.attempts.Forget(ctx, accountKey(st.Email), totpKey(st.ID))
}

// SignInStats counts what sign-in did since the process started.
type SignInStats struct {
	PasswordChecks uint64 // argon2id evaluations, dummy ones included
	TOTPChecks     uint64 // TOTP codes compared
	Locked         uint64 // attempts refused because a counter said wait
	Busy           uint64 // attempts refused because every check slot was taken
}

// Stats returns the counts (exported as Prometheus counters).
func (s *Service) Stats() SignInStats {
	return SignInStats{PasswordChecks: s.stats.passwordChecks.Load(), TOTPChecks: s.stats.totpChecks.Load(),
		Locked: s.stats.locked.Load(), Busy: s.stats.busy.Load()}
}
