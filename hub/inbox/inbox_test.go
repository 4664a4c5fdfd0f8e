package inbox_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/hub/inbox"
	"github.com/karerehub/karere/internal/hubtest"
)

const (
	wrongPassword = "not the password at all"
	failMessage   = "That email address and password do not match an account."
)

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)

	// A GET without a session goes to the sign-in page, remembering where.
	wantRedirect(t, "threads without a session", b.get("/inbox/threads?filter=mine"), "/inbox/login?next=")

	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", f.staff.Email, wrongPassword},
		{"unknown email", "nobody@kowhai.example", staffPassword},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.trySignIn(tc.email, tc.password)
			wantStatus(t, "sign in", p, http.StatusUnauthorized)
			if !strings.Contains(p.body, failMessage) {
				t.Errorf("sign-in failure page lacks the generic message:\n%s", p.body)
			}
			if b.cookie() != "" {
				t.Errorf("a failed sign-in set a session cookie")
			}
		})
	}

	p := b.trySignIn(strings.ToUpper(f.staff.Email), staffPassword)
	wantRedirect(t, "sign in", p, "/inbox/threads")
	var setCookie string
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, identity.SessionCookie+"=") {
			setCookie = c
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(setCookie, attr) {
			t.Errorf("session cookie %q lacks %s", setCookie, attr)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Errorf("session cookie over plain http to an http public URL is Secure: %q", setCookie)
	}
	token := b.cookie()
	if len(token) < 43 {
		t.Fatalf("session token %q: want 32 random bytes", token)
	}
	list := b.get("/inbox/threads")
	wantStatus(t, "threads", list, http.StatusOK)
	if !strings.Contains(list.body, "Sione Taufa") {
		t.Errorf("thread list does not name the signed-in staff member")
	}
	// Only the token's hash is stored.
	if _, err := f.h.App.Store().GetSession(context.Background(), []byte(token)); err == nil {
		t.Errorf("the session is stored under its plain token")
	}
	if _, err := f.h.App.Store().GetSession(context.Background(), identity.HashSessionToken(token)); err != nil {
		t.Errorf("the session is not stored under the token's SHA-256: %v", err)
	}
	// A redirect target outside the inbox is ignored.
	b2 := newBrowser(t, f.h.URL)
	form := b2.get("/inbox/login?next=//evil.example/x")
	p = b2.post("/inbox/login", url.Values{"csrf": {form.csrf(t)}, "email": {f.staff.Email}, "password": {staffPassword},
		"next": {"//evil.example/x"}})
	wantRedirect(t, "sign in with a foreign next", p, "/inbox/threads")
}

// TestSecureCookie: a request over TLS gets a Secure cookie.
func TestSecureCookie(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)
	form := b.get("/inbox/login")
	req := httptest.NewRequest(http.MethodPost, "https://karere.example/inbox/login", strings.NewReader(url.Values{
		"csrf": {form.csrf(t)}, "email": {f.staff.Email}, "password": {staffPassword}}.Encode()))
	req.TLS = &tls.ConnectionState{}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "karere_login", Value: form.csrf(t)})
	rec := httptest.NewRecorder()
	f.h.App.API().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign in over TLS: %d\n%s", rec.Code, rec.Body)
	}
	c := rec.Header().Values("Set-Cookie")
	if !strings.Contains(strings.Join(c, "\n"), identity.SessionCookie+"=") || !strings.Contains(strings.Join(c, "\n"), "Secure") {
		t.Errorf("cookies over TLS: %q, want a Secure session cookie", c)
	}
}

func TestLoginFormCSRF(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)
	// No form token at all (a cross-site post has no cookie of ours).
	p := b.post("/inbox/login", url.Values{"email": {f.staff.Email}, "password": {staffPassword}})
	wantStatus(t, "sign in without the form token", p, http.StatusForbidden)
	// A token that is not the cookie's.
	b.get("/inbox/login")
	p = b.post("/inbox/login", url.Values{"csrf": {"forged"}, "email": {f.staff.Email}, "password": {staffPassword}})
	wantStatus(t, "sign in with a forged token", p, http.StatusForbidden)
	if b.cookie() != "" {
		t.Fatal("a forged sign-in form signed in")
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	api := func(b *browser) int { return b.get("/v1/threads").status }

	t.Run("idle", func(t *testing.T) {
		b := newBrowser(t, f.h.URL)
		b.signIn(f.staff.Email, staffPassword)
		// Activity slides the idle expiry.
		for range 3 {
			f.clk.Advance(25 * time.Minute)
			wantStatus(t, "page within the idle limit", b.get("/inbox/threads"), http.StatusOK)
		}
		// The page's own background refreshes do not.
		f.clk.Advance(20 * time.Minute)
		wantStatus(t, "background refresh", b.get("/inbox/threads", identity.BackgroundHeader, "1"), http.StatusOK)
		wantStatus(t, "background API poll", b.get("/v1/threads", identity.BackgroundHeader, "1"), http.StatusOK)
		f.clk.Advance(11 * time.Minute)
		wantRedirect(t, "page after 31 idle minutes", b.get("/inbox/threads"), "/inbox/login")
		if got := api(b); got != http.StatusUnauthorized {
			t.Errorf("API after idle expiry: %d, want 401", got)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		b := newBrowser(t, f.h.URL)
		b.signIn(f.staff.Email, staffPassword)
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
			f.clk.Advance(20 * time.Minute)
			wantStatus(t, "page while active", b.get("/inbox/threads"), http.StatusOK)
		}
		if got := api(b); got != http.StatusOK {
			t.Fatalf("API before 12 h: %d", got)
		}
		f.clk.Advance(21 * time.Minute) // 12 h 1 min after sign-in, 21 min idle
		wantRedirect(t, "page after 12 h", b.get("/inbox/threads"), "/inbox/login")
		if got := api(b); got != http.StatusUnauthorized {
			t.Errorf("API after 12 h: %d, want 401", got)
		}
	})
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	thread := f.patientThread(f.c, e, "p-1001", e.patient, "Kia ora")
	b := newBrowser(t, f.h.URL)
	token := b.signIn(f.staff.Email, staffPassword)

	assign := "/inbox/threads/" + thread + "/assign"
	wantStatus(t, "form without token", b.post(assign, url.Values{"assigned_to": {"me"}}), http.StatusForbidden)
	wantStatus(t, "form with a wrong token", b.post(assign, url.Values{"assigned_to": {"me"}, "csrf": {token + "x"}}), http.StatusForbidden)
	th, _ := f.c.GetThread(context.Background(), thread)
	if th.AssignedTo != nil {
		t.Fatalf("a refused form assigned the thread to %v", *th.AssignedTo)
	}
	wantRedirect(t, "form with the token", b.post(assign, url.Values{"assigned_to": {"me"}, "csrf": {token}}), "/inbox/threads/"+thread)
	th, _ = f.c.GetThread(context.Background(), thread)
	if th.AssignedTo == nil || *th.AssignedTo != f.staff.ID {
		t.Fatalf("assigned to %v, want %s", th.AssignedTo, f.staff.ID)
	}
	// Sign-out is a form too.
	wantStatus(t, "sign out without token", b.post("/inbox/logout", nil), http.StatusForbidden)

	// The JSON API with the session cookie: reads need no token, changes do.
	wantStatus(t, "API GET with cookie", b.get("/v1/threads/"+thread), http.StatusOK)
	patch := `{"status":"closed"}`
	p := b.do(http.MethodPatch, "/v1/threads/"+thread, strings.NewReader(patch), "Content-Type", "application/json")
	wantStatus(t, "API PATCH without X-CSRF-Token", p, http.StatusForbidden)
	if code := errorCode(p.body); code != "csrf_failed" {
		t.Errorf("error code %q, want csrf_failed", code)
	}
	p = b.do(http.MethodPatch, "/v1/threads/"+thread, strings.NewReader(patch), "Content-Type", "application/json",
		"X-CSRF-Token", "wrong")
	wantStatus(t, "API PATCH with a wrong X-CSRF-Token", p, http.StatusForbidden)
	p = b.do(http.MethodPatch, "/v1/threads/"+thread, strings.NewReader(patch), "Content-Type", "application/json",
		"X-CSRF-Token", token)
	wantStatus(t, "API PATCH with the token", p, http.StatusOK)
	// The API records the staff member as the actor.
	audit, err := f.h.App.Store().ListAudit(context.Background(), f.h.Practice.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range audit {
		if a.Action == "thread.update" && a.Actor == "staff:"+f.staff.ID {
			found = true
		}
	}
	if !found {
		t.Errorf("no thread.update audit event by staff:%s", f.staff.ID)
	}
}

func errorCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)
	token := b.signIn(f.staff.Email, staffPassword)
	old := b.cookie()
	p := b.post("/inbox/logout", url.Values{"csrf": {token}})
	wantRedirect(t, "sign out", p, "/inbox/login?signed_out=1")
	if b.cookie() != "" {
		t.Errorf("sign-out left the cookie in the browser")
	}
	// The old cookie, replayed, is refused: the session is gone server-side.
	replay := newBrowser(t, f.h.URL)
	u, _ := url.Parse(f.h.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: identity.SessionCookie, Value: old, Path: "/"}})
	wantRedirect(t, "page with the old cookie", replay.get("/inbox/threads"), "/inbox/login")
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: identity.SessionCookie, Value: old, Path: "/"}})
	wantStatus(t, "API with the old cookie", replay.get("/v1/threads"), http.StatusUnauthorized)
	if _, err := f.h.App.Store().GetSession(context.Background(), identity.HashSessionToken(old)); err == nil {
		t.Errorf("the session row survived sign-out")
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	threadA := f.patientThread(f.c, e, "p-1001", e.patient, "Kia ora from practice A")

	practiceB, _ := f.h.NewPractice("Rātā Medical", hub.ModeLive)
	staffB := f.addStaff(practiceB, "mere@rata.example", "Mere B")
	b := newBrowser(t, f.h.URL)
	tokenB := b.signIn(staffB.Email, staffPassword)

	list := b.get("/inbox/threads")
	if strings.Contains(list.body, threadA) || strings.Contains(list.body, "Aroha") {
		t.Errorf("practice B's list shows practice A's thread")
	}
	wantStatus(t, "page: A's thread", b.get("/inbox/threads/"+threadA), http.StatusNotFound)
	wantStatus(t, "page: A's patient's deliveries", b.get("/inbox/patients/p-1001/deliveries"), http.StatusNotFound)
	wantStatus(t, "form: assign A's thread", b.post("/inbox/threads/"+threadA+"/assign",
		url.Values{"csrf": {tokenB}, "assigned_to": {"me"}}), http.StatusNotFound)
	wantStatus(t, "form: close A's thread", b.post("/inbox/threads/"+threadA+"/status",
		url.Values{"csrf": {tokenB}, "status": {"closed"}}), http.StatusNotFound)
	for _, path := range []string{"/v1/threads/" + threadA, "/v1/threads/" + threadA + "/messages",
		"/v1/staff/" + f.staff.ID + "/key/locked", "/v1/keys/p-1001"} {
		p := b.get(path)
		if p.status != http.StatusNotFound {
			t.Errorf("API GET %s as practice B's staff: %d, want 404\n%s", path, p.status, p.body)
		}
	}
	p := b.do(http.MethodPost, "/v1/threads/"+threadA+"/messages", strings.NewReader("x"),
		"Content-Type", "text/plain", "X-CSRF-Token", tokenB)
	if p.status != http.StatusNotFound && p.status != http.StatusBadRequest && p.status != http.StatusUnprocessableEntity {
		t.Errorf("API POST to A's thread as B: %d", p.status)
	}
	th, err := f.c.GetThread(context.Background(), threadA)
	if err != nil || th.AssignedTo != nil || th.Status != "open" {
		t.Errorf("A's thread changed: %+v, %v", th, err)
	}
}

var cspWant = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	thread := f.patientThread(f.c, e, "p-1001", e.patient, "Kia ora")
	anon := newBrowser(t, f.h.URL)
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)
	for _, tc := range []struct {
		name    string
		b       *browser
		path    string
		noStore bool
	}{
		{"login", anon, "/inbox/login", true},
		{"redirect", anon, "/inbox/threads", true},
		{"threads", b, "/inbox/threads", true},
		{"thread", b, "/inbox/threads/" + thread, true},
		{"deliveries", b, "/inbox/patients/p-1001/deliveries", true},
		{"two-step", b, "/inbox/account/two-step", true},
		{"not found", b, "/inbox/nothing-here", true},
		{"script", anon, "/inbox/static/inbox.js", false},
		{"style", anon, "/inbox/static/inbox.css", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.b.get(tc.path)
			h := p.header
			if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, cspWant) ||
				!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "base-uri 'none'") ||
				!strings.Contains(csp, "form-action 'self'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.noStore && h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", h.Get("Cache-Control"))
			}
			if strings.Contains(p.body, "<script>") || regexp.MustCompile(`<[^>]*\s(style|on[a-z]+)=`).MatchString(p.body) {
				t.Errorf("page has inline script, style or event handler attributes")
			}
		})
	}
	// The thread page carries ciphertext only: the patient's words are not in it.
	if p := b.get("/inbox/threads/" + thread); strings.Contains(p.body, "Kia ora") || !strings.Contains(p.body, "BEGIN PGP MESSAGE") {
		t.Errorf("thread page: plaintext present or ciphertext missing")
	}
	p := anon.get("/inbox/static/inbox.js")
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("inbox.js: %d %s", p.status, p.header.Get("Content-Type"))
	}
	if etag := p.header.Get("ETag"); etag == "" || anon.get("/inbox/static/inbox.js", "If-None-Match", etag).status != http.StatusNotModified {
		t.Errorf("inbox.js is not revalidated by ETag (%q)", etag)
	}
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	thread := f.patientThread(f.c, e, "p-1001", e.patient, "first")
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.h.URL+"/inbox/events", nil)
	b.c.Timeout = 0
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(lines)
	}()
	// Wait for the stream to be subscribed, then post a message.
	for l := range lines {
		if l == ": connected" {
			break
		}
	}
	sent, err := f.c.SendSecure(context.Background(), thread, "patient", []byte("second"), e.patient)
	if err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok {
			continue
		}
		var ev struct{ Type, Thread, ID string }
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if ev.Type == "message" && ev.Thread == thread && ev.ID == sent.ID {
			return
		}
	}
	t.Fatal("the message's event did not arrive")
}

// TestEventsHeartbeat runs the inbox handler on its own (with the hub's
// Service) to check the keep-alive comments and the end on disconnect.
func TestEventsHeartbeat(t *testing.T) {
	f := newFixture(t)
	h := inbox.New(f.h.App.Core(), inbox.Config{Heartbeat: 50 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Shutdown()
	b := newBrowser(t, srv.URL)
	b.signIn(f.staff.Email, staffPassword)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/inbox/events", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	beats := 0
	for beats < 2 && sc.Scan() {
		if sc.Text() == ": heartbeat" {
			beats++
		}
	}
	if beats < 2 {
		t.Fatalf("saw %d heartbeats", beats)
	}
	cancel()
	resp.Body.Close()
	// The handler ends with the client: the server can close at once.
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end when the client went away")
	}
}

func TestTwoStepSignIn(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)
	token := b.signIn(f.staff.Email, staffPassword)
	p := b.post("/inbox/account/two-step/begin", url.Values{"csrf": {token}})
	wantStatus(t, "begin", p, http.StatusOK)
	m := regexp.MustCompile(`href="(otpauth://totp/[^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no otpauth URI on the page:\n%s", p.body)
	}
	u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("issuer") != "Karere" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("otpauth URI %s", u)
	}
	secret := decodeB32(t, q.Get("secret"))
	// A wrong code does not turn it on.
	wantStatus(t, "confirm wrong", b.post("/inbox/account/two-step/confirm", url.Values{"csrf": {token}, "code": {"000000"}}),
		http.StatusBadRequest)
	code := identity.TOTPCode(secret, f.clk.Now())
	wantRedirect(t, "confirm", b.post("/inbox/account/two-step/confirm", url.Values{"csrf": {token}, "code": {code}}),
		"/inbox/account/two-step?done=on")

	// Now signing in takes a code.
	b2 := newBrowser(t, f.h.URL)
	wantRedirect(t, "password step", b2.trySignIn(f.staff.Email, staffPassword), "/inbox/login/code")
	// A session waiting for its code opens nothing.
	wantRedirect(t, "page before the code", b2.get("/inbox/threads"), "/inbox/login/code")
	wantStatus(t, "API before the code", b2.get("/v1/threads"), http.StatusUnauthorized)
	form := b2.get("/inbox/login/code")
	wantStatus(t, "code page", form, http.StatusOK)
	pending := b2.cookie()
	// The code used to confirm cannot be replayed.
	wantStatus(t, "replayed code", b2.post("/inbox/login/code", url.Values{"csrf": {form.csrf(t)}, "code": {code}}),
		http.StatusUnauthorized)
	f.clk.Advance(30 * time.Second)
	next := identity.TOTPCode(secret, f.clk.Now())
	wantRedirect(t, "code step", b2.post("/inbox/login/code", url.Values{"csrf": {form.csrf(t)}, "code": {next}}),
		"/inbox/threads")
	if b2.cookie() == pending {
		t.Errorf("the session token was not replaced after the second factor")
	}
	wantStatus(t, "page after the code", b2.get("/inbox/threads"), http.StatusOK)
}

func decodeB32(t *testing.T, s string) []byte {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out []byte
	var buf, bits uint
	for _, c := range s {
		i := strings.IndexRune(alphabet, c)
		if i < 0 {
			t.Fatalf("bad base32 %q", s)
		}
		buf = buf<<5 | uint(i)
		bits += 5
		if bits >= 8 {
			out = append(out, byte(buf>>(bits-8)))
			bits -= 8
		}
	}
	return out
}

func TestDeliveryHistory(t *testing.T) {
	f := newFixture(t)
	f.putPatient(f.c, "p-2002", "Hemi", "Walker")
	resp := f.h.MustDo(http.StatusAccepted, "POST", "/v1/notices", map[string]any{"patient": "p-2002",
		"text": "Your prescription is ready.", "channels": []string{"email", "sms"}})
	var n struct {
		Deliveries []struct{ ID string } `json:"deliveries"`
	}
	resp.JSON(t, &n)
	// Once the worker has handled it, the email bounces (as the mail
	// server would report it).
	ctx := context.Background()
	var d *hub.Delivery
	hubtest.WaitFor(t, 10*time.Second, "the email delivery to leave pending", func() bool {
		var err error
		d, err = f.h.App.Store().GetDelivery(ctx, f.h.Practice.ID, n.Deliveries[0].ID)
		return err == nil && d.State != hub.StatePending
	})
	d.State, d.LastError, d.Updated = hub.StateBounced, "550 5.1.1 mailbox unavailable", time.Now()
	if err := f.h.App.Store().UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)
	p := b.get("/inbox/patients/p-2002/deliveries")
	wantStatus(t, "deliveries", p, http.StatusOK)
	for _, want := range []string{"Hemi Walker", "email", "bounced", "550 5.1.1 mailbox unavailable", `class="failed`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("delivery history lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Your prescription is ready.") {
		t.Errorf("delivery history shows the notice's text")
	}
}

func TestTemplateEditor(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.h.URL)
	token := b.signIn(f.staff.Email, staffPassword)
	list := b.get("/inbox/templates")
	wantStatus(t, "templates", list, http.StatusOK)
	const path = "/inbox/templates/appointment_reminder/sms/mi-NZ"
	if !strings.Contains(list.body, `href="`+path+`"`) {
		t.Fatalf("the template list does not link %s", path)
	}
	ed := b.get(path)
	wantStatus(t, "editor", ed, http.StatusOK)
	if !regexp.MustCompile(`id="tpl-segments" role="status">\d+ segments?, (GSM-7|UCS-2)`).MatchString(ed.body) {
		t.Errorf("the editor shows no segment count:\n%s", ed.body)
	}
	// A field that does not exist is refused, naming the problem, and the
	// draft stays in the form.
	bad := "Kia ora {{.NoSuchField}}"
	p := b.post(path, url.Values{"csrf": {token}, "body": {bad}})
	if p.status != http.StatusUnprocessableEntity && p.status != http.StatusBadRequest {
		t.Fatalf("save with an unknown field: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, "NoSuchField") || !strings.Contains(p.body, `id="tpl-error">`) {
		t.Errorf("the refusal does not name the field or keep the draft:\n%s", p.body)
	}
	good := "Kia ora {{.PatientFirstName}}, he whakamaumahara: {{.PracticeName}}."
	wantRedirect(t, "save", b.post(path, url.Values{"csrf": {token}, "body": {good}}), path+"?saved=1")
	if p := b.get(path + "?saved=1"); !strings.Contains(p.body, "Saved as version 1") {
		t.Errorf("the saved page does not say so")
	}
	// Live preview through the JSON API with the session: CSRF required.
	draft := `{"kind":"appointment_reminder","channel":"sms","locale":"mi-NZ","body":"Kia ora {{.PatientFirstName}} – ā"}`
	p = b.do(http.MethodPost, "/v1/templates/preview", strings.NewReader(draft), "Content-Type", "application/json")
	wantStatus(t, "preview without the token", p, http.StatusForbidden)
	p = b.do(http.MethodPost, "/v1/templates/preview", strings.NewReader(draft), "Content-Type", "application/json",
		"X-CSRF-Token", token)
	wantStatus(t, "preview", p, http.StatusOK)
	var pv struct {
		Rendered string
		Segments int
		Encoding string
	}
	if err := json.Unmarshal([]byte(p.body), &pv); err != nil || pv.Encoding != "UCS-2" || pv.Segments != 1 {
		t.Errorf("preview %s: %+v, %v", p.body, pv, err)
	}
}

// TestOwnPrivateKeyOnly: a signed-in staff member may fetch only their own
// locked private key, never a colleague's or a patient's.
func TestOwnPrivateKeyOnly(t *testing.T) {
	f := newFixture(t)
	f.setupE2EE(f.c, f.staff.ID, "p-1001")
	other := f.addStaff(f.h.Practice.ID, "mere@kowhai.example", "Mere")
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)
	wantStatus(t, "own locked key", b.get("/v1/staff/"+f.staff.ID+"/key/locked"), http.StatusOK)
	wantStatus(t, "a colleague's locked key", b.get("/v1/staff/"+other.ID+"/key/locked"), http.StatusForbidden)
	wantStatus(t, "a patient's locked key", b.get("/v1/patients/p-1001/key/locked"), http.StatusForbidden)
}

// TestThreadShowsPatientKeyFingerprint: the thread page shows the
// patient's key fingerprint in groups of four, to verify out of band.
func TestThreadShowsPatientKeyFingerprint(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	th := f.patientThread(f.c, e, "p-1001", e.patient, "Kia ora")
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)
	page := b.get("/inbox/threads/" + th)
	fp := e.patientPub.Fingerprint
	want := fp[:4] + " " + fp[4:8]
	if page.status != http.StatusOK || !strings.Contains(page.body, want) {
		t.Errorf("thread page lacks the patient's fingerprint %s (status %d)", want, page.status)
	}
}

// TestThreadShowsUnverifiedSender: an email reply to the thread's reply
// address from an address that is neither the patient's nor the
// guardian's is kept, flagged on the thread page; one from the patient's
// address is not.
func TestThreadShowsUnverifiedSender(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	th := f.patientThread(f.c, e, "p-1001", e.patient, "Kia ora")
	for i, from := range []string{"Aroha@Example.NZ", "stranger@example.org"} {
		if _, err := f.h.App.Core().Messaging.ReceiveReply(t.Context(), hub.InboundText{Via: hub.ChannelEmail, From: from,
			ThreadID: th, ProviderID: fmt.Sprintf("reply-%d@example.nz", i), Text: "Thank you"}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, f.h.URL)
	b.signIn(f.staff.Email, staffPassword)
	page := b.get("/inbox/threads/" + th)
	if page.status != http.StatusOK || strings.Count(page.body, `class="flag-unverified"`) != 1 ||
		!strings.Contains(page.body, "sender not verified") {
		t.Errorf("thread page (status %d) does not flag exactly the stranger's reply:\n%s", page.status, page.body)
	}
}
