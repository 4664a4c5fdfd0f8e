package inbox_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// clock is the hub's clock in these tests, so that session expiry and
// sign-in locks can be tested without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const staffPassword = "correct horse battery staple"

// fixture is a running hub with a practice, a signed-up staff member and
// a Go API client on the practice's key.
type fixture struct {
	t     *testing.T
	h     *hubtest.Hub
	clk   *clock
	c     *client.Client
	staff *hub.Staff
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Now()}
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBInbox,
		Configure: func(c *app.Config) {
			c.Clock = clk.Now
			// Browsers here reach the hub from 127.0.0.1 as through a
			// reverse proxy: X-Forwarded-For names the client
			// (browser.forwardedFor); from another loopback address
			// (browser.fromAddr) it is ignored.
			c.TrustedProxies = "127.0.0.1/32"
		}})
	f := &fixture{t: t, h: h, clk: clk}
	f.staff = f.addStaff(h.Practice.ID, "sione@kowhai.example", "Sione Taufa")
	c, err := client.New(h.URL, h.Key)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	f.c = c
	return f
}

func (f *fixture) addStaff(practiceID, email, name string) *hub.Staff {
	f.t.Helper()
	st, err := f.h.App.Core().Directory.AddStaff(context.Background(), practiceID, email, name, staffPassword)
	if err != nil {
		f.t.Fatalf("AddStaff: %v", err)
	}
	return st
}

// e2ee is a practice set up for secure messages: a patient and a staff
// member with keys, the team key granted to the staff member.
type e2ee struct {
	patientRef  string
	patient     *openpgp.Entity
	patientPub  *pgp.PublicKey
	staffPass   string
	staff       *openpgp.Entity
	staffPub    *pgp.PublicKey
	staffLocked []byte
	team        *client.TeamKey
}

// setupE2EE registers keys the way the portal and the staff member's CLI
// would: a patient key, the staff key (public and passphrase-locked), and
// the team key made by the Go client (karere team init), whose grant the
// browser must open.
func (f *fixture) setupE2EE(c *client.Client, staffID, patientRef string) *e2ee {
	f.t.Helper()
	ctx := context.Background()
	e := &e2ee{patientRef: patientRef, staffPass: "kōwhai passphrase for Sione"}
	f.putPatient(c, patientRef, "Aroha", "Ngata")
	ppriv, ppub, err := pgp.GenerateKey("Aroha Ngata", "aroha@example.nz", []byte("patient pass"), time.Now().Add(-time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := c.PutPatientKey(ctx, patientRef, ppub); err != nil {
		f.t.Fatalf("PutPatientKey: %v", err)
	}
	e.patient, _ = pgp.ReadPrivateKey(ppriv, []byte("patient pass"))
	e.patientPub, _ = pgp.ParsePublicKey(ppub, time.Now())
	spriv, spub, err := pgp.GenerateKey("Sione Taufa", "sione@kowhai.example", []byte(e.staffPass), time.Now().Add(-time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := c.PutStaffKey(ctx, staffID, spub); err != nil {
		f.t.Fatalf("PutStaffKey: %v", err)
	}
	if _, err := c.PutStaffLockedKey(ctx, staffID, spriv); err != nil {
		f.t.Fatalf("PutStaffLockedKey: %v", err)
	}
	e.staffLocked = spriv
	e.staff, _ = pgp.ReadPrivateKey(spriv, []byte(e.staffPass))
	e.staffPub, _ = pgp.ParsePublicKey(spub, time.Now())
	if e.team, err = c.TeamInit(ctx, staffID, e.staff); err != nil {
		f.t.Fatalf("TeamInit: %v", err)
	}
	return e
}

func (f *fixture) putPatient(c *client.Client, ref, given, family string) {
	f.t.Helper()
	if _, _, err := c.PutPatient(context.Background(), ref, client.PatientInput{GivenName: given, FamilyName: family,
		Phone: "+64211234567", Email: "aroha@example.nz", Channels: []string{"portal", "sms", "email"}}); err != nil {
		f.t.Fatalf("PutPatient: %v", err)
	}
}

// patientThread opens a thread and posts the patient's first message,
// encrypted and signed on the patient's side.
func (f *fixture) patientThread(c *client.Client, e *e2ee, patientRef string, patient *openpgp.Entity, text string) string {
	f.t.Helper()
	ctx := context.Background()
	th, err := c.CreateThread(ctx, patientRef, "general")
	if err != nil {
		f.t.Fatalf("CreateThread: %v", err)
	}
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(text), patient); err != nil {
		f.t.Fatalf("SendSecure: %v", err)
	}
	return th.ID
}

// browser is a cookie-keeping HTTP client that does not follow
// redirects, like a browser seen from the server.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	xff  string // X-Forwarded-For sent with every request
}

// forwardedFor makes the browser's requests carry X-Forwarded-For: xff,
// as a reverse proxy adds it.
func (b *browser) forwardedFor(xff string) *browser { b.xff = xff; return b }

// fromAddr makes the browser connect from another loopback address (Linux
// routes all of 127.0.0.0/8 to the loopback interface).
func (b *browser) fromAddr(ip string) *browser {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	b.c.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, body io.Reader, headers ...string) *page {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string, headers ...string) *page {
	return b.do(http.MethodGet, path, nil, headers...)
}

func (b *browser) post(path string, form url.Values, headers ...string) *page {
	return b.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrfMeta  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// csrf returns the CSRF token a page carries.
func (p *page) csrf(t *testing.T) string {
	t.Helper()
	if m := csrfMeta.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	t.Fatalf("no CSRF token in page (status %d):\n%s", p.status, p.body)
	return ""
}

// trySignIn loads the sign-in form and posts it.
func (b *browser) trySignIn(email, password string) *page {
	b.t.Helper()
	form := b.get("/inbox/login")
	if form.status != http.StatusOK {
		b.t.Fatalf("GET /inbox/login: %d", form.status)
	}
	return b.post("/inbox/login", url.Values{"csrf": {form.csrf(b.t)}, "email": {email}, "password": {password}})
}

// signIn signs in and returns the CSRF token of the session.
func (b *browser) signIn(email, password string) string {
	b.t.Helper()
	p := b.trySignIn(email, password)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/inbox/threads" {
		b.t.Fatalf("sign in: status %d, Location %q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	list := b.get("/inbox/threads")
	if list.status != http.StatusOK {
		b.t.Fatalf("GET /inbox/threads after sign-in: %d", list.status)
	}
	return list.csrf(b.t)
}

// cookie returns the session cookie's value ("" when none).
func (b *browser) cookie() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == identity.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, what string, p *page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, want, p.body)
	}
}

func wantRedirect(t *testing.T, what string, p *page, prefix string) {
	t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), prefix) {
		t.Fatalf("%s: status %d, Location %q; want 303 to %s…\n%s", what, p.status, p.header.Get("Location"), prefix, p.body)
	}
}
