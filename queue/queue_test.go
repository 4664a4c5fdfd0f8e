package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/queue"
)

func redisOpt(t *testing.T) asynq.RedisClientOpt {
	testenv.Redis(t, testenv.RedisDBQueue) // flushed
	return asynq.RedisClientOpt{Addr: testenv.RedisAddr(), DB: testenv.RedisDBQueue}
}

// TestBackoff: attempt n waits between half and all of base·2ⁿ, capped.
func TestBackoff(t *testing.T) {
	f := queue.Backoff(time.Second, time.Minute)
	tests := []struct {
		name     string
		n        int
		min, max time.Duration
	}{
		{"first retry", 0, 500 * time.Millisecond, time.Second},
		{"third retry", 2, 2 * time.Second, 4 * time.Second},
		{"capped", 10, 30 * time.Second, time.Minute},
		{"far beyond the cap", 100, 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for i := 0; i < 200; i++ {
				d := f(tc.n, nil, nil)
				if d < tc.min || d > tc.max {
					t.Fatalf("delay %s outside [%s, %s]", d, tc.min, tc.max)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Errorf("only %d distinct delays in 200: no jitter", len(seen))
			}
		})
	}
}

// TestEnqueueIsIdempotent: the delivery id is the task id, so a second
// enqueue of the same delivery leaves one task.
func TestEnqueueIsIdempotent(t *testing.T) {
	opt := redisOpt(t)
	c := queue.NewClient(opt, 3)
	defer c.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	ctx := context.Background()
	d := &hub.Delivery{ID: "dlv_test1", Kind: hub.KindNotice}
	for i := 0; i < 3; i++ {
		if err := c.Enqueue(ctx, d); err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	info, err := insp.GetQueueInfo(queue.QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("%d pending tasks after three enqueues, want 1", info.Pending)
	}
	ti, err := insp.GetTaskInfo(queue.QueueDefault, "dlv_test1")
	if err != nil || ti.MaxRetry != 3 {
		t.Errorf("task: %+v %v", ti, err)
	}
	// Secure-message notices go to the critical queue; a NotBefore schedules.
	later := time.Now().Add(time.Hour)
	if err := c.Enqueue(ctx, &hub.Delivery{ID: "dlv_test2", Kind: hub.KindSecureMessageNotice, NotBefore: later}); err != nil {
		t.Fatal(err)
	}
	ti, err = insp.GetTaskInfo(queue.QueueCritical, "dlv_test2")
	if err != nil || ti.State != asynq.TaskStateScheduled || ti.NextProcessAt.Unix() != later.Unix() {
		t.Errorf("scheduled critical task: %+v %v", ti, err)
	}
}

// deliverer records calls and fails as told.
type deliverer struct {
	mu     sync.Mutex
	calls  map[string]int
	finals map[string]bool
	fail   func(id string, n int) error
	done   chan string
}

func (d *deliverer) Deliver(ctx context.Context, id string, final bool) error {
	d.mu.Lock()
	d.calls[id]++
	n := d.calls[id]
	if final {
		d.finals[id] = true
	}
	d.mu.Unlock()
	err := d.fail(id, n)
	if err == nil {
		d.done <- id
	}
	return err
}

// TestWorkerRetriesAndArchives: a temporary error is retried with backoff
// until it succeeds; a task that keeps failing gets its final attempt
// flagged and is archived (dead letter) after its retries.
func TestWorkerRetriesAndArchives(t *testing.T) {
	opt := redisOpt(t)
	dl := &deliverer{calls: map[string]int{}, finals: map[string]bool{}, done: make(chan string, 10),
		fail: func(id string, n int) error {
			switch {
			case id == "dlv_flaky" && n < 2:
				return errors.New("provider answered 503")
			case id == "dlv_broken":
				return errors.New("provider down")
			}
			return nil
		}}
	srv := queue.NewServer(opt, queue.ServerConfig{Concurrency: 4, BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	if err := srv.Start(queue.Handler(dl, nil, nil)); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	c := queue.NewClient(opt, 2)
	defer c.Close()
	ctx := context.Background()
	for _, id := range []string{"dlv_flaky", "dlv_broken"} {
		if err := c.Enqueue(ctx, &hub.Delivery{ID: id, Kind: hub.KindNotice}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case id := <-dl.done:
		if id != "dlv_flaky" {
			t.Fatalf("%s succeeded", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the flaky delivery was never retried to success")
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(queue.QueueDefault, "dlv_broken")
		if err == nil && ti.State == asynq.TaskStateArchived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broken delivery was not archived: %+v %v", ti, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if dl.calls["dlv_flaky"] != 2 || dl.calls["dlv_broken"] != 3 {
		t.Errorf("calls: %v (want flaky 2, broken 3: the first try and two retries)", dl.calls)
	}
	if !dl.finals["dlv_broken"] || dl.finals["dlv_flaky"] {
		t.Errorf("final flags: %v", dl.finals)
	}
}

// pending is a PendingLister over a fixed list.
type pending []hub.Delivery

func (p pending) ListPendingDeliveries(_ context.Context, _ time.Time, after string, limit int) ([]hub.Delivery, error) {
	var out []hub.Delivery
	for _, d := range p {
		if d.ID > after && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// TestSweeperRefillsRedis: after Redis lost its tasks, a sweep puts every
// pending delivery back, across pages, and a second sweep adds nothing.
func TestSweeperRefillsRedis(t *testing.T) {
	opt := redisOpt(t)
	c := queue.NewClient(opt, 3)
	defer c.Close()
	var ds pending
	for i := 0; i < 1234; i++ {
		ds = append(ds, hub.Delivery{ID: "dlv_" + time.Unix(int64(i), 0).UTC().Format("20060102150405"), Kind: hub.KindNotice})
	}
	sw := &queue.Sweeper{Store: ds, Queue: c}
	ctx := context.Background()
	n, err := sw.Sweep(ctx)
	if err != nil || n != len(ds) {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	info, err := insp.GetQueueInfo(queue.QueueDefault)
	if err != nil || info.Pending != len(ds) {
		t.Fatalf("pending after sweep: %+v %v", info, err)
	}
	if _, err := sw.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	info, _ = insp.GetQueueInfo(queue.QueueDefault)
	if info.Pending != len(ds) {
		t.Errorf("second sweep changed the queue to %d tasks", info.Pending)
	}
}
