package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// TestMain lets the test binary act as hubd itself (HUBD_AS_MAIN=1), so
// tests run the real command in a separate process that can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("HUBD_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hubdProcess starts this test binary as `hubd args...` with env.
func hubdProcess(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "HUBD_AS_MAIN=1"), env...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// syncBuffer is an output buffer the test may read while the process writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func workerEnv(h *hubtest.Hub, concurrency int) []string {
	return []string{
		"KARERE_DATABASE_URL=" + h.Config.DatabaseURL,
		"KARERE_REDIS_URL=" + h.Config.RedisURL,
		"KARERE_SECRET_KEY=" + h.Config.SecretKey,
		"KARERE_ROLES=worker",
		"KARERE_MIGRATE=false",
		fmt.Sprintf("KARERE_WORKER_CONCURRENCY=%d", concurrency),
		"KARERE_SWEEP_INTERVAL=1s",
		"KARERE_SWEEP_GRACE=2s",
		"KARERE_RETRY_BASE=200ms",
		"KARERE_LOG_LEVEL=warn",
	}
}

// postNotices posts n notices for patient through the API, 8 at a time.
func postNotices(t *testing.T, h *hubtest.Hub, patient string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan string, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := h.Do("POST", "/v1/notices", "", fmt.Sprintf(`{"patient":%q,"text":"Notice %d"}`, patient, i))
				if r.Status != 202 {
					errs <- fmt.Sprintf("notice %d: %d %s", i, r.Status, r.Body)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func countSent(t *testing.T, h *hubtest.Hub) (sent, attempts int) {
	t.Helper()
	db := h.App.Store().DB()
	if err := db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE state = 'sent'`).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COALESCE(SUM(attempts), 0) FROM deliveries`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	return sent, attempts
}

// TestWorkerCrash: a worker process killed with SIGKILL in the middle of
// 2,000 deliveries, then restarted: every delivery ends sent, none is lost,
// and re-sends are at most the number that were in flight.
func TestWorkerCrash(t *testing.T) {
	const total, concurrency = 2000, 10
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBHubd,
		Configure: func(c *app.Config) { c.Roles = "api" }})
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha"})
	postNotices(t, h, "p-1", total)

	first, out1 := hubdProcess(t, workerEnv(h, concurrency), "serve")
	hubtest.WaitFor(t, 60*time.Second, "some deliveries sent", func() bool {
		sent, _ := countSent(t, h)
		return sent >= total/4
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill, _ := countSent(t, h)
	if atKill >= total {
		t.Fatalf("the worker finished before it was killed (%d sent): nothing was tested", atKill)
	}
	t.Logf("killed the worker with %d of %d sent", atKill, total)

	second, out2 := hubdProcess(t, workerEnv(h, concurrency), "serve")
	// Tasks the killed worker held are handed back by Asynq's recoverer
	// once their lease (30 s) expires; it looks every minute.
	hubtest.WaitFor(t, 4*time.Minute, "every delivery sent", func() bool {
		sent, _ := countSent(t, h)
		return sent == total
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("worker did not exit cleanly on SIGTERM: %v\n%s", err, out2)
	}
	sent, attempts := countSent(t, h)
	var inbox int
	if err := h.App.Store().DB().QueryRow(`SELECT COUNT(*) FROM inbox_items`).Scan(&inbox); err != nil {
		t.Fatal(err)
	}
	resent := attempts - total
	t.Logf("after restart: %d sent, %d inbox items, %d attempts (re-sends: %d, in flight at most %d)", sent, inbox, attempts, resent, concurrency)
	if inbox != total {
		t.Errorf("inbox has %d items for %d deliveries", inbox, total)
	}
	if resent > concurrency {
		t.Errorf("%d deliveries were attempted twice; at most %d were in flight\nfirst worker:\n%s", resent, concurrency, out1)
	}
}

// TestRedisFlushed: Redis loses every queued task (FLUSHDB) in the middle
// of a run; the sweeper re-enqueues from the database and every delivery
// is sent.
func TestRedisFlushed(t *testing.T) {
	const total = 500
	h := hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBHubd,
		Configure: func(c *app.Config) {
			c.Concurrency = 2
			c.SweepInterval = 500 * time.Millisecond
			c.SweepGrace = time.Second
		}})
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha"})
	postNotices(t, h, "p-1", total)
	sent, _ := countSent(t, h)
	if err := h.App.Redis().FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("flushed Redis with %d of %d sent", sent, total)
	if sent >= total {
		t.Fatal("everything was sent before the flush: nothing was tested")
	}
	hubtest.WaitFor(t, 60*time.Second, "every delivery sent", func() bool {
		s, _ := countSent(t, h)
		return s == total
	})
}

// TestServeShutsDownOnSIGTERM: `hubd serve` answers, then exits 0 on SIGTERM.
func TestServeShutsDownOnSIGTERM(t *testing.T) {
	url := testenv.PostgresSchema(t)
	testenv.Redis(t, testenv.RedisDBHubd)
	env := []string{"KARERE_DATABASE_URL=" + url, "KARERE_REDIS_URL=" + testenv.RedisURL(testenv.RedisDBHubd),
		"KARERE_SECRET_KEY=" + strings.Repeat("ab", 32), "KARERE_HTTP_ADDR=127.0.0.1:18931", "KARERE_SMTP_ADDR=127.0.0.1:0"}
	cmd, out := hubdProcess(t, env, "serve")
	hubtest.WaitFor(t, 20*time.Second, "hubd answering", func() bool {
		r, err := http.Get("http://127.0.0.1:18931/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// TestConfigErrorsNameTheSetting: bad configuration fails at start with a
// message naming the setting.
func TestConfigErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{name: "nothing set", want: []string{"KARERE_DATABASE_URL", "KARERE_REDIS_URL", "KARERE_SECRET_KEY"}},
		{name: "bad database url", env: []string{"KARERE_DATABASE_URL=mysql://x", "KARERE_REDIS_URL=redis://127.0.0.1:6379/0", "KARERE_SECRET_KEY=" + strings.Repeat("ab", 32)},
			want: []string{"KARERE_DATABASE_URL (--database-url) must start with"}},
		{name: "short secret", env: []string{"KARERE_DATABASE_URL=sqlite:x.db", "KARERE_REDIS_URL=redis://127.0.0.1:6379/0", "KARERE_SECRET_KEY=abc"},
			want: []string{"KARERE_SECRET_KEY", "32 bytes"}},
		{name: "bad role and duration", env: []string{"KARERE_DATABASE_URL=sqlite:x.db", "KARERE_REDIS_URL=redis://127.0.0.1:6379/0", "KARERE_SECRET_KEY=" + strings.Repeat("ab", 32), "KARERE_ROLES=api,mailer", "KARERE_SWEEP_INTERVAL=often"},
			want: []string{`unknown role "mailer"`, "KARERE_SWEEP_INTERVAL"}},
		{name: "bad trusted proxy and check slots", env: []string{"KARERE_DATABASE_URL=sqlite:x.db", "KARERE_REDIS_URL=redis://127.0.0.1:6379/0", "KARERE_SECRET_KEY=" + strings.Repeat("ab", 32), "KARERE_TRUSTED_PROXIES=10.0.0.0/8,proxy.example", "KARERE_MAX_PASSWORD_CHECKS=0"},
			want: []string{`KARERE_TRUSTED_PROXIES (--trusted-proxies): "proxy.example"`, "KARERE_MAX_PASSWORD_CHECKS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "serve")
			cmd.Env = append([]string{"HUBD_AS_MAIN=1", "PATH=" + os.Getenv("PATH")}, tc.env...)
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("hubd serve started with bad configuration:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("message does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestAdminCommands: practice create --json, key create, staff add with the
// password on stdin, against the embedded SQLite store.
func TestAdminCommands(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/k.db"
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := runCommand(ctx, []string{"practice", "create", "--database-url", db, "--name", "Kōwhai Health", "--json"}, nil, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var created struct {
		PracticeID string `json:"practice_id"`
		APIKey     string `json:"api_key"`
	}
	if err := json.Unmarshal(out.Bytes(), &created); err != nil || !strings.HasPrefix(created.PracticeID, "prc_") || !strings.HasPrefix(created.APIKey, "krr_live_") {
		t.Fatalf("practice create --json printed %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := runCommand(ctx, []string{"key", "create", "--database-url", db, "--practice", created.PracticeID, "--mode", "test"}, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "krr_test_") {
		t.Fatalf("key create: %v %s", err, out.String())
	}
	out.Reset()
	stdin := strings.NewReader("correct horse battery staple\n")
	if err := runCommand(ctx, []string{"staff", "add", "--database-url", db, "--practice", created.PracticeID, "--email", "Sione@Kowhai.example", "--name", "Sione"}, stdin, &out, &errb); err != nil {
		t.Fatalf("staff add: %v", err)
	}
	cfg := &app.Config{DatabaseURL: db, Migrate: true}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.GetStaffByEmail(ctx, "sione@kowhai.example")
	if err != nil {
		t.Fatal(err)
	}
	if !identity.CheckPassword(s.PasswordHash, "correct horse battery staple") || identity.CheckPassword(s.PasswordHash, "wrong") {
		t.Error("stored password hash does not verify")
	}
	if !strings.HasPrefix(s.PasswordHash, "$argon2id$") {
		t.Errorf("password not hashed with argon2id: %.20s", s.PasswordHash)
	}
	// A short password is refused with a clear message.
	err = runCommand(ctx, []string{"staff", "add", "--database-url", db, "--practice", created.PracticeID, "--email", "a@kowhai.example", "--name", "A"}, strings.NewReader("short\n"), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Errorf("short password: %v", err)
	}
}

// TestDevCommand: `hubd dev` starts with nothing configured, prints the API
// key, and a notice posted with it reaches the portal inbox.
func TestDevCommand(t *testing.T) {
	dir := t.TempDir()
	cmd, out := hubdProcess(t, []string{"KARERE_DATA_DIR=" + dir, "KARERE_HTTP_ADDR=127.0.0.1:18932"}, "dev")
	hubtest.WaitFor(t, 30*time.Second, "dev banner with the API key", func() bool { return keyFromBanner(out.String()) != "" })
	key := keyFromBanner(out.String())
	body := `{"patient":"p-1001","text":"Kia ora! Your flu vaccine is due."}`
	req, _ := http.NewRequest("POST", "http://127.0.0.1:18932/v1/notices", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("post notice: %v %v", err, resp)
	}
	resp.Body.Close()
	hubtest.WaitFor(t, 10*time.Second, "inbox item", func() bool {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:18932/v1/patients/p-1001/inbox", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var v struct{ Items []struct{ Text string } }
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return len(v.Items) == 1 && v.Items[0].Text == "Kia ora! Your flu vaccine is due."
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("dev did not exit cleanly: %v", err)
	}
}

func keyFromBanner(banner string) string {
	sc := bufio.NewScanner(strings.NewReader(banner))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "API" && f[1] == "key" {
			return f[2]
		}
	}
	return ""
}
