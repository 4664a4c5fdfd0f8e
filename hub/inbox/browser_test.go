package inbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

// chromiumPath is Debian's chromium (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// pageProblems collects what the page reported: exceptions, console
// errors and CSP violations. Any of them fails the test.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *pageProblems) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *pageProblems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.list {
		t.Errorf("page reported: %s", s)
	}
	p.list = nil
}

// startChromium starts headless Chromium with a throw-away profile.
func startChromium(t *testing.T) (context.Context, *pageProblems) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required for the browser test (apt-get install chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	probs := &pageProblems{}
	// Exceptions, console errors and browser log errors (CSP violations
	// are logged there) all count as problems.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				probs.add(m.String() + " " + m.URL)
			}
		}
	}()
	return ctx, probs
}

// TestBrowser is the staff inbox end to end in Chromium: sign in, unlock
// the key in the page, read a message a Go client encrypted and signed as
// the patient, see its signature checked, and reply; the Go side then
// decrypts the reply with the patient's key and checks the staff
// signature.
func TestBrowser(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	const first = "Kia ora, I have had a rash on my arm since Tuesday. Should I come in?"
	thread := f.patientThread(f.c, e, "p-1001", e.patient, first)
	ctx, probs := startChromium(t)
	base := f.h.URL

	const reply = "Kia ora Aroha, yes please: come in tomorrow at 10:30. Ngā mihi, Sione"
	wait := chromedp.WithPollingTimeout(30 * time.Second)
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/inbox/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), f.staff.Email),
		chromedp.SendKeys(chromedp.ID("password"), staffPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("thread-list")),
		chromedp.WaitEnabled(chromedp.ID("unlock")),
		// The page swaps <main> rather than loading a new document.
		chromedp.Click(chromedp.CSS("#thread-list a.who")),
		chromedp.WaitVisible(chromedp.ID("thread")),
		chromedp.SendKeys(chromedp.ID("passphrase"), e.staffPass),
		chromedp.Click(chromedp.ID("unlock")),
		chromedp.WaitVisible(chromedp.ID("lock")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#messages .msg[data-done]') !== null`, wait),
	)
	if err != nil {
		keyStatus, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("key-status")))
		probs.check(t)
		t.Fatalf("read the thread: %v (key status %q)", err, keyStatus)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#messages .msg [data-body]")))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#messages .msg [data-sig]")))
	if err != nil {
		t.Fatal(err)
	}
	if body != first {
		t.Errorf("decrypted text in the page = %q, want %q", body, first)
	}
	if sig != "signature good" {
		t.Errorf("signature status = %q, want \"signature good\"", sig)
	}

	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("reply-text"), reply),
		chromedp.Click(chromedp.ID("reply-send")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#reply-status').textContent.startsWith('Reply sent')
			|| document.querySelector('#reply-status').textContent.startsWith('Not sent')`, wait),
	)
	status, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("reply-status")))
	if err != nil || !strings.HasPrefix(status, "Reply sent") {
		probs.check(t)
		t.Fatalf("reply: %v (status %q)", err, status)
	}
	if err := chromedp.Do(ctx,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#messages .msg[data-done]').length === 2`, wait)); err != nil {
		t.Fatalf("the reply did not appear decrypted in the thread: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "inbox-thread.png", png)

	// The template editor previews a draft as it is typed.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav a[href="/inbox/templates"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/inbox/templates/appointment_reminder/sms/mi-NZ"]`)),
		chromedp.WaitVisible(chromedp.ID("tpl-body")),
		chromedp.Clear(chromedp.ID("tpl-body")),
		chromedp.SendKeys(chromedp.ID("tpl-body"), "Kia ora {{.PatientFirstName}}, ā tērā wiki"),
		chromedp.Poll[chromedp.Void](`document.querySelector('#tpl-preview').textContent.startsWith('Kia ora ')
			&& document.querySelector('#tpl-segments').textContent.includes('UCS-2')`, wait),
	)
	if err != nil {
		probs.check(t)
		t.Fatalf("template preview: %v", err)
	}

	// The reply, read on the patient's side in Go.
	msgs, err := f.c.ReadThread(context.Background(), thread, openpgp.EntityList{e.patient}, nil)
	if err != nil {
		t.Fatalf("ReadThread: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("thread has %d messages, want 2", len(msgs))
	}
	m := msgs[1]
	if m.Err != nil {
		t.Fatalf("the patient cannot decrypt the reply: %v", m.Err)
	}
	if string(m.Plaintext) != reply {
		t.Errorf("reply plaintext = %q, want %q", m.Plaintext, reply)
	}
	if m.Sender != string(client.AsStaff(f.staff.ID)) || m.Signature != pgp.SignatureGood ||
		m.SignerFingerprint != e.staffPub.Fingerprint || !m.SenderVerified() {
		t.Errorf("reply sender %s, signature %s by %s (want good by %s)", m.Sender, m.Signature, m.SignerFingerprint,
			e.staffPub.Fingerprint)
	}
	// And the team (another staff member's client) reads it too.
	pt, err := pgp.Decrypt([]byte(m.Ciphertext), e.team.Keyring(), pgp.Keyring(e.staffPub))
	if err != nil || string(pt.Data) != reply || pt.Signature != pgp.SignatureGood {
		t.Errorf("team decrypt of the reply: %v, %q, %s", err, pt.Data, pt.Signature)
	}
	probs.check(t)
}

// saveArtifact writes a test artifact under t.TempDir() and, when
// KARERE_ARTIFACTS names a directory, there too.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	paths := []string{filepath.Join(t.TempDir(), name)}
	if dir := os.Getenv("KARERE_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Errorf("KARERE_ARTIFACTS: %v", err)
		} else {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	for _, p := range paths {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Errorf("write artifact: %v", err)
			continue
		}
		t.Logf("artifact: %s (%d bytes)", p, len(data))
	}
}

// TestBrowserInboxSize measures the thread list of a 200-thread inbox in
// Chromium, cold cache: bytes transferred (document and every resource)
// and time to first contentful paint.
func TestBrowserInboxSize(t *testing.T) {
	f := newFixture(t)
	e := f.setupE2EE(f.c, f.staff.ID, "p-1001")
	ctx := context.Background()
	const n = 200
	patients := map[string]*openpgp.Entity{"p-1001": e.patient}
	refs := []string{"p-1001"}
	given := []string{"Aroha", "Hemi", "Mere", "Tama", "Wiremu", "Anahera", "Rawiri", "Moana", "Ihaia", "Kiri"}
	family := []string{"Ngata", "Walker", "Parata", "Smith", "Tipene", "Henare", "Kingi", "Te Ao", "Patel", "Chen"}
	for i := 1; len(refs) < 20; i++ {
		ref := fmt.Sprintf("p-%d", 2000+i)
		f.putPatient(f.c, ref, given[i%10], family[(i*3)%10])
		priv, pub, err := pgp.GenerateKey(given[i%10], "", []byte("pp"), time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.PutPatientKey(ctx, ref, pub); err != nil {
			t.Fatal(err)
		}
		patients[ref], _ = pgp.ReadPrivateKey(priv, []byte("pp"))
		refs = append(refs, ref)
	}
	for i := range n {
		ref := refs[i%len(refs)]
		th, err := f.c.CreateThread(ctx, ref, []string{"general", "results", "prescriptions", "appointments"}[i%4])
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 { // two thirds have a patient message waiting
			if _, err := f.c.SendSecure(ctx, th.ID, client.AsPatient, []byte("message "+fmt.Sprint(i)), patients[ref]); err != nil {
				t.Fatal(err)
			}
		}
	}

	bctx, probs := startChromium(t)
	err := chromedp.Do(bctx,
		chromedp.Navigate(f.h.URL+"/inbox/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), f.staff.Email),
		chromedp.SendKeys(chromedp.ID("password"), staffPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("thread-list")),
	)
	if err != nil {
		probs.check(t)
		t.Fatal(err)
	}
	// Measure a cold load of the list.
	if _, err := chromedp.Call(bctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate(f.h.URL+"/inbox/threads"),
		chromedp.WaitVisible(chromedp.ID("thread-list")),
		chromedp.Poll[chromedp.Void](`performance.getEntriesByName('first-contentful-paint').length > 0`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	if err != nil {
		probs.check(t)
		t.Fatal(err)
	}
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#thread-list li').length`))
	if err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Fatalf("the list shows %d threads, want %d", rows, n)
	}
	type resource struct {
		Name       string
		Size, Body float64
	}
	type measure struct {
		Doc, DocBody   float64
		Resources      []resource
		FCP, DCL, Load float64
	}
	m, err := chromedp.Run(bctx, chromedp.Evaluate[measure](`(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const fcp = performance.getEntriesByName('first-contentful-paint')[0];
		return {
			Doc: nav.transferSize, DocBody: nav.encodedBodySize,
			Resources: performance.getEntriesByType('resource').map((r) => ({Name: r.name, Size: r.transferSize, Body: r.encodedBodySize})),
			FCP: fcp.startTime, DCL: nav.domContentLoadedEventEnd, Load: nav.loadEventEnd,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	total := m.Doc
	t.Logf("thread list, %d threads: document %.0f B transferred (%.0f B body)", n, m.Doc, m.DocBody)
	for _, r := range m.Resources {
		total += r.Size
		t.Logf("  + %s: %.0f B transferred (%.0f B body)", strings.TrimPrefix(r.Name, f.h.URL), r.Size, r.Body)
	}
	t.Logf("thread list total transferred: %.0f B (%.1f KiB); first contentful paint %.0f ms, DOMContentLoaded %.0f ms, load %.0f ms",
		total, total/1024, m.FCP, m.DCL, m.Load)
	if m.FCP <= 0 || total <= m.Doc {
		t.Errorf("implausible measurement: FCP %.0f ms, total %.0f B", m.FCP, total)
	}
	// The crypto bundle is not part of the list page: it loads on unlock.
	for _, r := range m.Resources {
		if strings.Contains(r.Name, "/chunks/") {
			t.Errorf("the list page loaded %s before any key was unlocked", r.Name)
		}
	}
	probs.check(t)
}
