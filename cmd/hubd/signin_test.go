package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// TestParallelSignInsKeepMemoryBounded is the review's attack on a real
// hubd process: before, 24 parallel sign-ins took it from 126 MB to 1.6 GB
// (each ran argon2id, 64 MiB, before any limit). Thirty attempts from
// thirty addresses (through a trusted proxy's X-Forwarded-For) are fired
// at once, at a real account and at unknown emails, then the same thirty
// clients keep guessing for a few seconds. The process's peak RSS must
// stay within 300 MB of what it was before, every attempt must be either
// checked (401) or refused at once (429 with Retry-After), and no client
// address may get more password checks than its limit allows.
func TestParallelSignInsKeepMemoryBounded(t *testing.T) {
	const clients = 30
	const maxGrowth = 300 << 20
	db := testenv.PostgresSchema(t)
	testenv.Redis(t, testenv.RedisDBHubd)
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := runCommand(ctx, []string{"practice", "create", "--database-url", db, "--name", "Kōwhai Health", "--json"}, nil, &out, &errb); err != nil {
		t.Fatalf("practice create: %v\n%s", err, errb.String())
	}
	var created struct {
		PracticeID string `json:"practice_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	const email = "sione@kowhai.example"
	if err := runCommand(ctx, []string{"staff", "add", "--database-url", db, "--practice", created.PracticeID, "--email", email,
		"--name", "Sione"}, strings.NewReader("correct horse battery staple\n"), &out, &errb); err != nil {
		t.Fatalf("staff add: %v", err)
	}

	base := "http://" + freeAddr(t)
	cmd, logs := hubdProcess(t, []string{"KARERE_DATABASE_URL=" + db, "KARERE_REDIS_URL=" + testenv.RedisURL(testenv.RedisDBHubd),
		"KARERE_SECRET_KEY=" + strings.Repeat("ab", 32), "KARERE_HTTP_ADDR=" + strings.TrimPrefix(base, "http://"),
		"KARERE_ROLES=api", "KARERE_TRUSTED_PROXIES=127.0.0.1/32", "KARERE_LOG_LEVEL=warn"}, "serve")
	hubtest.WaitFor(t, 30*time.Second, "hubd answering", func() bool {
		r, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})
	pid := cmd.Process.Pid

	// Each client has loaded the sign-in form (its cookie and token).
	forms := make([]*loginForm, clients)
	for i := range forms {
		target := email
		if i%2 == 1 {
			target = fmt.Sprintf("nobody%d@kowhai.example", i) // the dummy hash
		}
		forms[i] = openLoginForm(t, base, fmt.Sprintf("198.51.100.%d", i+1), target)
	}
	baseline, sys0 := procStatus(t, pid, "VmRSS"), metric(t, base, "go_memstats_sys_bytes")
	resetPeakRSS(t, pid)
	checks0, busy0 := metric(t, base, "karere_password_checks_total"), metric(t, base, `karere_sign_in_refused_total{reason="busy"}`)

	// The burst: thirty at once.
	statuses := make([]int, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, f := range forms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = f.post(t, "wrong password, guess 1")
		}()
	}
	burstAt := time.Now()
	close(start)
	wg.Wait()
	checked, refused := 0, 0
	for _, st := range statuses {
		switch st {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("burst answer %d, want 401 or 429", st)
		}
	}
	checks := int(metric(t, base, "karere_password_checks_total") - checks0)
	busy := int(metric(t, base, `karere_sign_in_refused_total{reason="busy"}`) - busy0)
	t.Logf("burst of %d: %d checked (401), %d refused at once (429); karere_password_checks_total +%d, busy +%d",
		clients, checked, refused, checks, busy)
	if checks != checked || busy != refused {
		t.Errorf("metrics say %d checks and %d busy refusals; the answers say %d and %d", checks, busy, checked, refused)
	}
	if refused == 0 {
		t.Errorf("no attempt was refused: %d password checks ran for %d parallel attempts", checked, clients)
	}
	for _, f := range forms {
		if f.lastStatus == http.StatusTooManyRequests && f.lastRetryAfter == "" {
			t.Errorf("a 429 without Retry-After")
		}
	}

	// Then every client keeps guessing for a while, as an attacker does.
	began := time.Now()
	for _, f := range forms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 2; time.Since(began) < 4*time.Second; i++ {
				if f.post(t, fmt.Sprintf("wrong password, guess %d", i)) == http.StatusTooManyRequests {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(burstAt)
	// Two measures: the peak RSS, and the memory the Go runtime obtained
	// from the system (go_memstats_sys_bytes, which never goes down, so
	// its growth is the runtime's peak). Under the race detector RSS also
	// holds the detector's shadow memory, so only the runtime's counts.
	peak := procStatus(t, pid, "VmHWM")
	rssGrowth, sysGrowth := peak-baseline, int64(metric(t, base, "go_memstats_sys_bytes")-sys0)
	t.Logf("hubd RSS %d MiB before, peak %d MiB: grew %d MiB; Go runtime memory grew %d MiB (limit %d MiB; race detector: %v)",
		baseline>>20, peak>>20, rssGrowth>>20, sysGrowth>>20, maxGrowth>>20, raceEnabled)
	if sysGrowth > maxGrowth {
		t.Errorf("hubd's Go memory grew %d MiB under %d parallel sign-ins; want under %d MiB", sysGrowth>>20, clients, maxGrowth>>20)
	}
	if !raceEnabled && rssGrowth > maxGrowth {
		t.Errorf("hubd's RSS grew %d MiB under %d parallel sign-ins; want under %d MiB", rssGrowth>>20, clients, maxGrowth>>20)
	}
	// Per address: AccountAddressFree free checks, then one more after 1 s,
	// 2 s, 4 s ... of waiting: within elapsed, at most this many.
	allowed := identity.AccountAddressFree
	for w := time.Second; w <= elapsed; w = 2*w + time.Second {
		allowed++
	}
	total := 0
	for i, f := range forms {
		total += f.checked
		if f.checked > allowed {
			t.Errorf("client %d got %d password checks in %s; its limit allows %d", i, f.checked, elapsed.Round(time.Millisecond), allowed)
		}
	}
	if got := int(metric(t, base, "karere_password_checks_total") - checks0); got != total {
		t.Errorf("karere_password_checks_total rose by %d; the clients saw %d checks", got, total)
	}
	t.Logf("over %s: %d password checks for %d clients (at most %d each)", elapsed.Round(time.Millisecond), total, clients, allowed)
	if t.Failed() {
		t.Logf("hubd output:\n%s", logs)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// loginForm is one client's sign-in form, posted through the "proxy".
type loginForm struct {
	base, xff, email, token string
	c                       *http.Client
	checked                 int // 401 answers: the password was checked
	lastStatus              int
	lastRetryAfter          string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func openLoginForm(t *testing.T, base, xff, email string) *loginForm {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	f := &loginForm{base: base, xff: xff, email: email, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 1},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	req, _ := http.NewRequest(http.MethodGet, base+"/inbox/login", nil)
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form (%d):\n%s", resp.StatusCode, body)
	}
	f.token = string(m[1])
	return f
}

// post sends the form with password and returns the status.
func (f *loginForm) post(t *testing.T, password string) int {
	form := url.Values{"csrf": {f.token}, "email": {f.email}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, f.base+"/inbox/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", f.xff)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Errorf("POST /inbox/login: %v", err)
		return 0
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Every answer is the form again, with a new token (and cookie).
	if m := csrfInput.FindSubmatch(body); m != nil {
		f.token = string(m[1])
	}
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("POST /inbox/login: %d, want 401 or 429:\n%s", resp.StatusCode, body)
	}
	f.lastStatus, f.lastRetryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	if resp.StatusCode == http.StatusUnauthorized {
		f.checked++
	}
	return resp.StatusCode
}

// procStatus reads a size field (kB) of /proc/PID/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// resetPeakRSS sets the process's VmHWM back to its current RSS
// (proc(5): writing 5 to clear_refs).
func resetPeakRSS(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset peak RSS: %v", err)
	}
}

// metric reads one sample from hubd's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
