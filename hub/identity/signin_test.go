package identity_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/settings"
	"github.com/karerehub/karere/hub/store"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/internal/throttle"
)

const password = "a long enough staff password"

// cheapHash is an argon2id hash with 1 MiB instead of 64: CheckPassword
// reads the cost from the hash, so a test can run dozens of checks at
// once without 64 MiB each. Only the account's checks are cheap; an
// unknown email still costs the real dummy hash.
func cheapHash(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	h := argon2.IDKey([]byte(pw), salt, 1, 1024, 1, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=1024,t=1,p=1$%s$%s", argon2.Version, enc.EncodeToString(salt), enc.EncodeToString(h))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type signInEnv struct {
	t     *testing.T
	st    *store.Store
	svc   *identity.Service
	clk   *clock
	staff *hub.Staff
}

func (e *signInEnv) addStaff(practiceID, email string) *hub.Staff {
	e.t.Helper()
	staff := &hub.Staff{PracticeID: practiceID, Email: email, Name: "Staff", PasswordHash: cheapHash(password)}
	if err := e.st.CreateStaff(context.Background(), staff); err != nil {
		e.t.Fatal(err)
	}
	return staff
}

// newSignInEnv is an identity Service on a SQLite store and real Redis
// counters, with a staff member whose password hash is cheap.
func newSignInEnv(t *testing.T, maxChecks int) *signInEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rdb := testenv.Redis(t, testenv.RedisDBIdentity)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	seal, err := settings.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	log := audit.New(st, clk.Now)
	svc := identity.New(st, throttle.New(rdb), seal, log, identity.Config{Now: clk.Now, MaxPasswordChecks: maxChecks})
	p, _, err := identity.NewDirectory(st, log, clk.Now).CreatePractice(ctx, "Kōwhai Health", hub.DefaultTimeZone, hub.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	e := &signInEnv{t: t, st: st, svc: svc, clk: clk}
	e.staff = e.addStaff(p.ID, "sione@kowhai.example")
	return e
}

func (e *signInEnv) signIn(pw, source string) error {
	_, err := e.svc.SignIn(context.Background(), e.staff.Email, pw, source)
	return err
}

// The review's finding: 10 parallel guesses at one account were all
// evaluated although the limit was 5. Counted before the check, at most
// AccountAddressFree are evaluated, whatever the check slots allow.
func TestParallelGuessesAtOneAccountEvaluateAtMostTheLimit(t *testing.T) {
	e := newSignInEnv(t, 16)
	before := e.svc.Stats().PasswordChecks
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	start := make(chan struct{})
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- e.signIn("guess", "198.51.100.7")
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	failed, locked := 0, 0
	for err := range errs {
		switch {
		case errors.Is(err, identity.ErrSignInFailed):
			failed++
		case errors.Is(err, identity.ErrSignInLocked):
			locked++
			if hub.AsError(err).RetryAfter <= 0 {
				t.Errorf("locked without RetryAfter: %v", err)
			}
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	checks := e.svc.Stats().PasswordChecks - before
	if failed != identity.AccountAddressFree || locked != 10-identity.AccountAddressFree || checks != uint64(failed) {
		t.Fatalf("10 parallel guesses: %d evaluated (%d password checks), %d locked; want %d evaluated",
			failed, checks, locked, identity.AccountAddressFree)
	}
	if got := e.svc.Stats().Locked; got != uint64(locked) {
		t.Errorf("Stats().Locked = %d, want %d", got, locked)
	}
}

// The lock is on the account at the guesser's address: the staff member
// at the practice signs in meanwhile, and the guesser waits longer and
// longer.
func TestGuesserElsewhereDoesNotLockTheAccount(t *testing.T) {
	e := newSignInEnv(t, 2)
	const guesser, practice = "198.51.100.7", "203.0.113.10"
	for range identity.AccountAddressFree {
		if err := e.signIn("guess", guesser); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("guess: %v", err)
		}
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		err := e.signIn(password, guesser) // even the right password waits
		if !errors.Is(err, identity.ErrSignInLocked) || hub.AsError(err).RetryAfter != want {
			t.Fatalf("guesser: %v (RetryAfter %v), want locked for %v", err, hub.AsError(err).RetryAfter, want)
		}
		if err := e.signIn(password, practice); err != nil {
			t.Fatalf("staff member at the practice while the guesser waits: %v", err)
		}
		e.clk.Advance(want)
		if err := e.signIn("guess", guesser); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("guess after the wait: %v", err)
		}
	}
	// The wait stops doubling at MaxWait (the 15th attempt: 2^10 s > 15 min).
	for range 7 {
		e.clk.Advance(identity.MaxWait)
		if err := e.signIn("guess", guesser); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("guess after MaxWait: %v", err)
		}
	}
	if err := e.signIn("guess", guesser); hub.AsError(err).RetryAfter != identity.MaxWait {
		t.Fatalf("after many guesses: %v (RetryAfter %v), want MaxWait", err, hub.AsError(err).RetryAfter)
	}
	// A right password at an address clears that address's count.
	e.clk.Advance(identity.MaxWait)
	if err := e.signIn(password, guesser); err != nil {
		t.Fatalf("right password after the wait: %v", err)
	}
	for range identity.AccountAddressFree {
		if err := e.signIn("typo", guesser); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("after a good sign-in the count starts again: %v", err)
		}
	}
	// IPv6: one subscriber's /64 counts as one address.
	for i := range identity.AccountAddressFree {
		if err := e.signIn("guess", fmt.Sprintf("2001:db8:1:2::%x", i+1)); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("IPv6 guess %d: %v", i, err)
		}
	}
	if err := e.signIn("guess", "2001:db8:1:2:ffff::1"); !errors.Is(err, identity.ErrSignInLocked) {
		t.Fatalf("another address of the same /64: %v, want locked", err)
	}
}

// Guessing from many addresses meets the account-wide ceiling; an address
// where the staff member signed in lately is exempt, so even a botnet
// cannot lock them out at the practice.
func TestAccountCeilingSparesKnownAddresses(t *testing.T) {
	e := newSignInEnv(t, 2)
	const practice = "203.0.113.10"
	if err := e.signIn(password, practice); err != nil { // the practice is known
		t.Fatal(err)
	}
	for i := range identity.AccountFree {
		if err := e.signIn("guess", fmt.Sprintf("198.51.%d.%d", i/200, i%200+1)); !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("distributed guess %d: %v", i, err)
		}
	}
	err := e.signIn(password, "192.0.2.55") // a new address
	if !errors.Is(err, identity.ErrSignInLocked) || hub.AsError(err).RetryAfter != identity.AccountWait {
		t.Fatalf("new address after %d distributed guesses: %v, want locked for %v", identity.AccountFree, err, identity.AccountWait)
	}
	if err := e.signIn(password, practice); err != nil {
		t.Fatalf("the practice's address after distributed guessing: %v", err)
	}
	// An admin's unlock clears the account everywhere.
	if err := e.svc.Unlock(context.Background(), e.staff); err != nil {
		t.Fatal(err)
	}
	if err := e.signIn(password, "192.0.2.55"); err != nil {
		t.Fatalf("new address after Unlock: %v", err)
	}
}

// One address trying many accounts (password spraying) is slowed for
// every account, and a good sign-in there does not reset it.
func TestOneAddressSprayingManyAccounts(t *testing.T) {
	e := newSignInEnv(t, 2)
	const sprayer = "198.51.100.99"
	ctx := context.Background()
	for i := range identity.AddressFree {
		other := e.addStaff(e.staff.PracticeID, fmt.Sprintf("staff%d@kowhai.example", i))
		_, err := e.svc.SignIn(ctx, other.Email, "Summer2026!!", sprayer)
		if !errors.Is(err, identity.ErrSignInFailed) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	if err := e.signIn(password, sprayer); !errors.Is(err, identity.ErrSignInLocked) {
		t.Fatalf("a real account from the spraying address: %v, want locked", err)
	}
	if err := e.signIn(password, "203.0.113.10"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}
