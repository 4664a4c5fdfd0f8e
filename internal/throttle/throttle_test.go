package throttle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/internal/throttle"
)

// backends runs fn against real Redis (as production) and miniredis (as
// `hubd dev`). newClient gives another connection to the same server, as
// another hubd process has.
func backends(t *testing.T, fn func(t *testing.T, newClient func() redis.UniversalClient)) {
	t.Run("redis", func(t *testing.T) {
		testenv.Redis(t, testenv.RedisDBThrottle) // flushed
		fn(t, func() redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(), DB: testenv.RedisDBThrottle})
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		fn(t, func() redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: m.Addr()})
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func counter(free int, first, max time.Duration) identity.Counter {
	return identity.Counter{Key: "acct:a", Field: "addr:x", Free: free, FirstWait: first, MaxWait: max,
		Forget: time.Hour, Clear: true}
}

func count(t *testing.T, r *throttle.Redis, at time.Time, cs ...identity.Counter) time.Duration {
	t.Helper()
	w, err := r.Count(context.Background(), at, cs)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return w
}

// Attempts from two processes at once: exactly Free get through, however
// they interleave, because reading and counting are one script.
func TestCountIsAtomicAcrossProcesses(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		procs := []*throttle.Redis{throttle.New(newClient()), throttle.New(newClient())}
		c := counter(5, time.Second, time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		start := make(chan struct{})
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				w, err := procs[i%2].Count(context.Background(), t0, []identity.Counter{c})
				if err != nil {
					t.Errorf("Count: %v", err)
					return
				}
				if w == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if allowed != 5 {
			t.Fatalf("%d of 40 parallel attempts got through; want 5", allowed)
		}
	})
}

func TestWaitDoublesUpToTheMaximum(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		r := throttle.New(newClient())
		c := counter(2, time.Second, 4*time.Second)
		steps := []struct {
			name string
			at   time.Duration
			want time.Duration // 0: counted
		}{
			{"first free", 0, 0},
			{"second free: next waits 1s", 0, 0},
			{"too soon", 400 * time.Millisecond, 600 * time.Millisecond},
			{"after 1s: next waits 2s", time.Second, 0},
			{"too soon again", 2500 * time.Millisecond, 500 * time.Millisecond},
			{"after 2s: next waits 4s", 3 * time.Second, 0},
			{"after 4s: next waits 4s (the maximum)", 7 * time.Second, 0},
			{"still the maximum", 8 * time.Second, 3 * time.Second},
		}
		for _, s := range steps {
			if got := count(t, r, t0.Add(s.at), c); got != s.want {
				t.Fatalf("%s: wait %v, want %v", s.name, got, s.want)
			}
		}
		for n, want := range map[int]time.Duration{1: 0, 2: time.Second, 3: 2 * time.Second, 4: 4 * time.Second, 9: 4 * time.Second} {
			if got := c.Wait(n); got != want {
				t.Errorf("Counter.Wait(%d) = %v, want %v", n, got, want)
			}
		}
	})
}

// Any counter that says wait refuses the attempt, and then nothing is
// counted on the others.
func TestARefusedAttemptCountsNowhere(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		r := throttle.New(newClient())
		tight := counter(1, time.Minute, time.Minute)
		loose := identity.Counter{Key: "addr:x", Field: "all", Free: 3, FirstWait: time.Minute, MaxWait: time.Minute, Forget: time.Hour}
		count(t, r, t0, tight, loose) // tight now waits
		for range 5 {
			if w := count(t, r, t0, tight, loose); w != time.Minute {
				t.Fatalf("refused attempt: wait %v, want 1m", w)
			}
		}
		// loose has counted one attempt only: two more are free.
		other := counter(1, time.Minute, time.Minute)
		other.Key = "acct:b"
		if w := count(t, r, t0, other, loose); w != 0 {
			t.Fatalf("loose counted the refused attempts: wait %v", w)
		}
	})
}

func TestCountIsForgottenAfterQuiet(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		r := throttle.New(newClient())
		c := counter(1, 30*time.Minute, 30*time.Minute) // Forget: 1h
		count(t, r, t0, c)
		if w := count(t, r, t0.Add(10*time.Minute), c); w != 20*time.Minute {
			t.Fatalf("wait %v, want 20m", w)
		}
		count(t, r, t0.Add(30*time.Minute), c) // waits 30m again
		// An hour after the last attempt the count starts again.
		if w := count(t, r, t0.Add(90*time.Minute), c); w != 0 {
			t.Fatalf("after an hour's quiet: wait %v, want 0", w)
		}
	})
}

func TestSettle(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		r := throttle.New(newClient())
		ctx := context.Background()
		clear := counter(2, time.Minute, time.Hour)
		undo := identity.Counter{Key: "addr:x", Field: "all", Free: 2, FirstWait: time.Minute, MaxWait: time.Hour,
			Forget: time.Hour}
		count(t, r, t0, clear, undo)
		count(t, r, t0, clear, undo) // both wait 1m now
		count(t, r, t0.Add(time.Minute), clear, undo)
		// The third attempt succeeds: clear forgets everything, undo goes
		// back to two attempts and the 1m wait they had.
		if err := r.Settle(ctx, []identity.Counter{clear, undo}); err != nil {
			t.Fatal(err)
		}
		if w := count(t, r, t0.Add(time.Minute), clear); w != 0 {
			t.Fatalf("a cleared counter still waits %v", w)
		}
		if w := count(t, r, t0.Add(90*time.Second), undo); w != 0 {
			t.Fatalf("after undo, the wait should be the 1m before it (over at 1m): %v", w)
		}
		// That attempt made it three again: it waits 2m.
		if w := count(t, r, t0.Add(2*time.Minute), undo); w != 90*time.Second {
			t.Fatalf("after undo and one more: wait %v, want 1m30s", w)
		}
		// Undoing the only attempt drops the counter.
		solo := identity.Counter{Key: "addr:y", Field: "all", Free: 1, FirstWait: time.Hour, MaxWait: time.Hour, Forget: time.Hour}
		count(t, r, t0, solo)
		if err := r.Settle(ctx, []identity.Counter{solo}); err != nil {
			t.Fatal(err)
		}
		if w := count(t, r, t0, solo); w != 0 {
			t.Fatalf("undo of the only attempt left a wait %v", w)
		}
	})
}

func TestForgetMarkAndExpiry(t *testing.T) {
	backends(t, func(t *testing.T, newClient func() redis.UniversalClient) {
		rdb := newClient()
		r := throttle.New(rdb)
		ctx := context.Background()
		c := counter(1, time.Hour, time.Hour)
		count(t, r, t0, c)
		// Keys vanish by themselves once their counters would be forgotten.
		ttl, err := rdb.PTTL(ctx, throttle.Prefix+c.Key).Result()
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Fatalf("TTL of a counter key: %v, %v; want (0, 1h]", ttl, err)
		}
		if err := r.Forget(ctx, c.Key, "totp:none"); err != nil {
			t.Fatal(err)
		}
		if w := count(t, r, t0, c); w != 0 {
			t.Fatalf("after Forget: wait %v", w)
		}

		if ok, err := r.Marked(ctx, "known:a", "x", t0, time.Hour); err != nil || ok {
			t.Fatalf("Marked before Mark = %v, %v", ok, err)
		}
		if err := r.Mark(ctx, "known:a", "x", t0, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if ok, err := r.Marked(ctx, "known:a", "x", t0.Add(59*time.Minute), time.Hour); err != nil || !ok {
			t.Fatalf("Marked within = %v, %v", ok, err)
		}
		if ok, _ := r.Marked(ctx, "known:a", "x", t0.Add(61*time.Minute), time.Hour); ok {
			t.Fatalf("Marked after within: true")
		}
		if ok, _ := r.Marked(ctx, "known:a", "y", t0, time.Hour); ok {
			t.Fatalf("another field is marked")
		}
	})
}
