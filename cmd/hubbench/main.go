// Command hubbench measures Karere's delivery pipeline end to end on real
// Redis and PostgreSQL, and raw Asynq (no-op handler) on the same Redis in
// the same run, and prints the ratio. It also measures how long an idle
// hub takes to call the channel after the API accepted a notice.
//
//	go run ./cmd/hubbench -n 5000
//
// It needs PostgreSQL and Redis (the same defaults as the tests; see
// KARERE_TEST_POSTGRES_URL, KARERE_TEST_REDIS_ADDR) and uses Redis
// database 8, which it flushes.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/queue"
)

func main() {
	n := flag.Int("n", 5000, "notices (and raw tasks) per throughput run")
	clients := flag.Int("clients", 16, "concurrent API clients")
	concurrency := flag.Int("concurrency", 20, "worker concurrency (both runs)")
	samples := flag.Int("samples", 200, "latency samples on an idle hub")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hubbench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *clients, *concurrency, *samples); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		os.Exit(1)
	}
}

func run(n, clients, concurrency, samples int) error {
	ctx := context.Background()
	redisAddr := testenv.RedisAddr()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: testenv.RedisDBBench})
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	fmt.Printf("hubbench: %d items, %d API clients, worker concurrency %d, Redis %s db %d\n\n", n, clients, concurrency, redisAddr, testenv.RedisDBBench)

	raw, err := rawAsynq(ctx, n, concurrency)
	if err != nil {
		return err
	}
	fmt.Printf("raw Asynq (no-op handler):      %8.0f tasks/s\n", raw)
	_ = rdb.FlushDB(ctx).Err()

	dbURL, drop, err := schema()
	if err != nil {
		return err
	}
	defer drop()
	pipe, accepted, p50, p99, err := pipeline(ctx, dbURL, n, clients, concurrency, samples)
	if err != nil {
		return err
	}
	fmt.Printf("pipeline accepted (API 202):    %8.0f notices/s\n", accepted)
	fmt.Printf("pipeline accepted+delivered:    %8.0f notices/s\n", pipe)
	fmt.Printf("ratio pipeline / raw Asynq:     %8.1f %%  (target >= 40 %%)\n", 100*pipe/raw)
	fmt.Printf("idle hub, API accept -> channel: p50 %v, p99 %v  (target p99 <= 50ms)\n", p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	return nil
}

// rawAsynq enqueues n no-op tasks from 8 goroutines while a server with
// the same settings as hubd's processes them; tasks/s from first enqueue
// to last processed.
func rawAsynq(ctx context.Context, n, concurrency int) (float64, error) {
	opt := asynq.RedisClientOpt{Addr: testenv.RedisAddr(), DB: testenv.RedisDBBench}
	var done atomic.Int64
	finished := make(chan struct{})
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: concurrency, Queues: queue.Weights,
		TaskCheckInterval: queue.DefaultTaskCheckInterval, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return 0, err
	}
	defer srv.Shutdown()
	c := asynq.NewClient(opt)
	defer c.Close()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	var firstErr atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := c.EnqueueContext(ctx, asynq.NewTask("noop", []byte(`{"delivery_id":"x"}`)),
					asynq.TaskID(fmt.Sprintf("raw-%d", i)), asynq.Queue(queue.QueueDefault)); err != nil {
					firstErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("raw asynq: only %d of %d processed", done.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func schema() (string, func(), error) {
	base := testenv.PostgresURL()
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	sep := "?"
	if bytes.ContainsRune([]byte(base), '?') {
		sep = "&"
	}
	return base + sep + "search_path=" + name, func() {
		_, _ = db.Exec("DROP SCHEMA " + name + " CASCADE")
		db.Close()
	}, nil
}

// timedChannel records when the channel was called for each delivery.
type timedChannel struct {
	hub.Channel
	mu     sync.Mutex
	called map[string]time.Time
}

func (c *timedChannel) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	c.called1(m)
	return c.Channel.Send(ctx, m)
}

// SendInTx keeps the portal's transactional path (hub.StoreChannel) that
// hubd uses; the wrapper must not hide it.
func (c *timedChannel) SendInTx(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	c.called1(m)
	return c.Channel.(hub.StoreChannel).SendInTx(ctx, m)
}

func (c *timedChannel) called1(m *hub.Message) {
	now := time.Now()
	c.mu.Lock()
	c.called[m.Delivery.NoticeID] = now
	c.mu.Unlock()
}

func pipeline(ctx context.Context, dbURL string, n, clients, concurrency, samples int) (delivered, accepted float64, p50, p99 time.Duration, err error) {
	cfg := &app.Config{}
	cfg.BindFlags(flag.NewFlagSet("bench", flag.ContinueOnError))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	cfg.DatabaseURL = dbURL
	cfg.RedisURL = testenv.RedisURL(testenv.RedisDBBench)
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.Concurrency = concurrency
	cfg.RateLimit = 1e9
	cfg.LogLevel = "error"
	if err = cfg.Validate(true, true); err != nil {
		return
	}
	var tc *timedChannel
	cfg.WrapChannel = func(name string, c hub.Channel) hub.Channel {
		if name != hub.ChannelPortal {
			return c
		}
		tc = &timedChannel{Channel: c, called: map[string]time.Time{}}
		return tc
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, log, false)
	if err != nil {
		return
	}
	if err = a.Start(ctx); err != nil {
		return
	}
	defer a.Shutdown(ctx)
	_, apiKey, err := a.Core().Directory.CreatePractice(ctx, "Bench Practice", hub.DefaultTimeZone, hub.ModeLive)
	if err != nil {
		return
	}
	url := a.URL()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	call := func(method, path, body string) (int, []byte, error) {
		req, _ := http.NewRequest(method, url+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	if st, b, e := call("PUT", "/v1/patients/p-1", `{"given_name":"Aroha","channels":["portal"]}`); e != nil || st != 201 {
		return 0, 0, 0, 0, fmt.Errorf("create patient: %d %s %v", st, b, e)
	}

	// Throughput: n notices from `clients` goroutines.
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				st, b, e := call("POST", "/v1/notices", fmt.Sprintf(`{"patient":"p-1","text":"Notice %d"}`, i))
				if e != nil || st != 202 {
					failed.Store(fmt.Errorf("notice: %d %s %v", st, b, e))
					return
				}
			}
		}()
	}
	wg.Wait()
	if e, _ := failed.Load().(error); e != nil {
		return 0, 0, 0, 0, e
	}
	accepted = float64(n) / time.Since(start).Seconds()
	// Delivered means committed as sent in the database.
	deadline := time.Now().Add(10 * time.Minute)
	for {
		counts, err := a.Store().CountDeliveries(ctx)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if counts[hub.StateSent] >= n {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, 0, fmt.Errorf("only %d of %d delivered", counts[hub.StateSent], n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	delivered = float64(n) / time.Since(start).Seconds()

	// Latency on an idle hub: one notice at a time.
	time.Sleep(time.Second)
	var lat []time.Duration
	for i := 0; i < samples; i++ {
		st, b, e := call("POST", "/v1/notices", `{"patient":"p-1","text":"Latency probe"}`)
		accept := time.Now()
		if e != nil || st != 202 {
			return 0, 0, 0, 0, fmt.Errorf("probe: %d %s %v", st, b, e)
		}
		id := between(b, `"notice_id":"`, `"`)
		for {
			tc.mu.Lock()
			at, ok := tc.called[id]
			tc.mu.Unlock()
			if ok {
				lat = append(lat, max(at.Sub(accept), 0))
				break
			}
			if time.Since(accept) > 10*time.Second {
				return 0, 0, 0, 0, fmt.Errorf("probe %s never reached the channel", id)
			}
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(time.Duration(20+i%30) * time.Millisecond) // idle between probes
	}
	slices.Sort(lat)
	return delivered, accepted, lat[len(lat)/2], lat[len(lat)*99/100], nil
}

func between(b []byte, from, to string) string {
	i := bytes.Index(b, []byte(from))
	if i < 0 {
		return ""
	}
	rest := b[i+len(from):]
	j := bytes.Index(rest, []byte(to))
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
