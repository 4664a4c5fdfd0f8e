package inbox_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub/identity"
)

const lockMessage = "Too many failed sign-ins. Wait "

func wantLocked(t *testing.T, what string, p *page, wait string) {
	t.Helper()
	wantStatus(t, what, p, http.StatusTooManyRequests)
	if got := p.header.Get("Retry-After"); got != wait {
		t.Errorf("%s: Retry-After %q, want %q", what, got, wait)
	}
	if !strings.Contains(p.body, lockMessage) {
		t.Errorf("%s: no lock message on the page:\n%s", what, p.body)
	}
}

// A guesser at another address meets the lock; the staff member at the
// practice does not. The lock reveals nothing about whether the account
// exists, and the guesser's wait doubles.
func TestLockout(t *testing.T) {
	f := newFixture(t)
	id := f.h.App.Core().Identity
	guesser := newBrowser(t, f.h.URL).forwardedFor("198.51.100.66")
	practice := newBrowser(t, f.h.URL).forwardedFor("203.0.113.10")
	checks := id.Stats().PasswordChecks
	for range identity.AccountAddressFree {
		p := guesser.trySignIn(f.staff.Email, wrongPassword)
		wantStatus(t, "wrong password", p, http.StatusUnauthorized)
		if !strings.Contains(p.body, failMessage) {
			t.Errorf("failure page lacks the failure message:\n%s", p.body)
		}
	}
	// Locked at the guesser's address: even the right password is
	// refused, without being checked.
	wantLocked(t, "right password at the guesser's address", guesser.trySignIn(f.staff.Email, staffPassword), "1")
	if got := id.Stats().PasswordChecks - checks; got != identity.AccountAddressFree {
		t.Errorf("%d passwords checked, want %d (a locked attempt is not checked)", got, identity.AccountAddressFree)
	}
	// The staff member at the practice signs in meanwhile.
	practice.signIn(f.staff.Email, staffPassword)

	// An unknown email locks the same way.
	for range identity.AccountAddressFree {
		wantStatus(t, "unknown email", guesser.trySignIn("ghost@kowhai.example", wrongPassword), http.StatusUnauthorized)
	}
	wantLocked(t, "unknown email after failures", guesser.trySignIn("ghost@kowhai.example", wrongPassword), "1")

	// After the wait one more guess is checked, and the next wait doubles.
	f.clk.Advance(time.Second)
	wantStatus(t, "guess after the wait", guesser.trySignIn(f.staff.Email, wrongPassword), http.StatusUnauthorized)
	p := guesser.trySignIn(f.staff.Email, wrongPassword)
	wantLocked(t, "guess right after", p, "2")
	if !strings.Contains(p.body, "Wait 2 seconds") {
		t.Errorf("the lock page does not say how long:\n%s", p.body)
	}
}

// X-Forwarded-For names the client only when the peer is a trusted
// proxy (127.0.0.1 in these tests); from any other peer it is ignored, so
// a guesser cannot escape the lock by naming a new address each time.
func TestClientAddressFromTrustedProxyOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sessionSource := func(b *browser) string {
		t.Helper()
		sess, err := f.h.App.Store().GetSession(ctx, identity.HashSessionToken(b.cookie()))
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		return sess.Source
	}
	// Through the proxy: the rightmost address the proxy did not add
	// itself; what the client wrote to its left is not believed.
	viaProxy := newBrowser(t, f.h.URL).forwardedFor("10.9.9.9, 198.51.100.23")
	viaProxy.signIn(f.staff.Email, staffPassword)
	if got := sessionSource(viaProxy); got != "198.51.100.23" {
		t.Errorf("through the trusted proxy: client %q, want 198.51.100.23", got)
	}
	audit, err := f.h.App.Store().ListAudit(ctx, f.h.Practice.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 || audit[0].Action != "staff.sign_in" || audit[0].Source != "198.51.100.23" {
		t.Errorf("audit of the sign-in: %+v, want source 198.51.100.23", audit)
	}

	// Straight from another peer: the header is ignored.
	direct := newBrowser(t, f.h.URL).fromAddr("127.0.0.2").forwardedFor("198.51.100.24")
	direct.signIn(f.staff.Email, staffPassword)
	if got := sessionSource(direct); got != "127.0.0.2" {
		t.Errorf("from an untrusted peer: client %q, want the peer 127.0.0.2", got)
	}
	guesser := newBrowser(t, f.h.URL).fromAddr("127.0.0.3")
	for i := range identity.AccountAddressFree {
		guesser.forwardedFor("198.51.100." + string(rune('1'+i)))
		wantStatus(t, "guess", guesser.trySignIn(f.staff.Email, wrongPassword), http.StatusUnauthorized)
	}
	guesser.forwardedFor("192.0.2.200")
	wantLocked(t, "a new X-Forwarded-For from an untrusted peer", guesser.trySignIn(f.staff.Email, wrongPassword), "1")
}

var otpauth = regexp.MustCompile(`href="(otpauth://totp/[^"]+)"`)

// enableTwoStep turns TOTP on for the signed-in browser and returns the
// secret.
func enableTwoStep(t *testing.T, f *fixture, b *browser, token string) []byte {
	t.Helper()
	p := b.post("/inbox/account/two-step/begin", url.Values{"csrf": {token}})
	m := otpauth.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no otpauth URI on the page:\n%s", p.body)
	}
	u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	secret := decodeB32(t, u.Query().Get("secret"))
	wantRedirect(t, "confirm", b.post("/inbox/account/two-step/confirm",
		url.Values{"csrf": {token}, "code": {identity.TOTPCode(secret, f.clk.Now())}}), "/inbox/account/two-step?done=on")
	return secret
}

// The review found a right password reset the TOTP failure count (16
// wrong codes checked in a row). Codes are counted per staff member, and
// only a right code clears the count.
func TestTOTPFailuresSurviveARightPassword(t *testing.T) {
	f := newFixture(t)
	id := f.h.App.Core().Identity
	b := newBrowser(t, f.h.URL).forwardedFor("203.0.113.10")
	secret := enableTwoStep(t, f, b, b.signIn(f.staff.Email, staffPassword))
	f.clk.Advance(30 * time.Second) // the confirming code is used

	attacker := newBrowser(t, f.h.URL).forwardedFor("198.51.100.66")
	wantRedirect(t, "password step", attacker.trySignIn(f.staff.Email, staffPassword), "/inbox/login/code")
	form := attacker.get("/inbox/login/code")
	codes := id.Stats().TOTPChecks
	for range identity.TOTPFree {
		wantStatus(t, "wrong code", attacker.post("/inbox/login/code", url.Values{"csrf": {form.csrf(t)}, "code": {"000000"}}),
			http.StatusUnauthorized)
	}
	p := attacker.post("/inbox/login/code", url.Values{"csrf": {form.csrf(t)}, "code": {"111111"}})
	wantLocked(t, "code after the free ones", p, "1")

	// The right password again, from another address: the code count
	// stands; even the right code waits.
	again := newBrowser(t, f.h.URL).forwardedFor("198.51.100.67")
	wantRedirect(t, "password step again", again.trySignIn(f.staff.Email, staffPassword), "/inbox/login/code")
	form2 := again.get("/inbox/login/code")
	right := identity.TOTPCode(secret, f.clk.Now())
	wantLocked(t, "right code after a right password", again.post("/inbox/login/code",
		url.Values{"csrf": {form2.csrf(t)}, "code": {right}}), "1")
	if got := id.Stats().TOTPChecks - codes; got != identity.TOTPFree {
		t.Errorf("%d codes compared, want %d (locked codes are not compared)", got, identity.TOTPFree)
	}
	// After the wait the waiting session takes the right code.
	f.clk.Advance(time.Second)
	wantRedirect(t, "right code after the wait", again.post("/inbox/login/code",
		url.Values{"csrf": {form2.csrf(t)}, "code": {identity.TOTPCode(secret, f.clk.Now())}}), "/inbox/threads")
	wantStatus(t, "signed in", again.get("/inbox/threads"), http.StatusOK)
}
