package queue_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/reminders"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/queue"
)

// BenchmarkScheduleReminders plans and schedules the reminders of 100,000
// appointments (default policy: 48h and 2h, quiet hours 20:00-08:00,
// Pacific/Auckland), spread over the next 14 days in clinic hours, on real
// Redis, and reports reminders scheduled per second and Redis memory per
// scheduled reminder (INFO used_memory before and after, divided by the
// number of tasks).
//
//	go test -run '^$' -bench ScheduleReminders -benchtime 1x ./queue/
func BenchmarkScheduleReminders(b *testing.B) {
	const appointments = 100_000
	const workers = 8
	nz, err := time.LoadLocation(hub.DefaultTimeZone)
	if err != nil {
		b.Fatal(err)
	}
	policy := reminders.ReminderPolicy{Offsets: hub.DefaultReminderOffsets, QuietStart: hub.DefaultQuietStart,
		QuietEnd: hub.DefaultQuietEnd, Location: nz}
	opt := asynq.RedisClientOpt{Addr: testenv.RedisAddr(), DB: testenv.RedisDBReminders}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		rdb := testenv.Redis(b, testenv.RedisDBReminders) // flushed
		sched := queue.NewScheduler(opt, 0)
		before := usedMemory(b, rdb)
		now := time.Now()
		day0 := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, nz)
		rng := rand.New(rand.NewPCG(1, 2))
		starts := make([]time.Time, appointments)
		for i := range starts {
			starts[i] = time.Date(day0.Year(), day0.Month(), day0.Day()+rng.IntN(14), 8+rng.IntN(9), 15*rng.IntN(4), 0, 0, nz)
		}
		b.StartTimer()

		t0 := time.Now()
		var scheduled atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < appointments; i += workers {
					apt := "apt_bench" + strconv.Itoa(i)
					for _, p := range reminders.PlanReminders(starts[i], now, policy) {
						r := &hub.Reminder{ID: hub.ReminderID(apt, p.Offset, 1), AppointmentID: apt, Offset: p.Offset,
							Version: 1, FireAt: p.FireAt}
						if err := sched.ScheduleReminder(ctx, r); err != nil {
							errs <- err
							return
						}
						scheduled.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(t0)
		b.StopTimer()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		n := scheduled.Load()
		in := asynq.NewInspector(opt)
		qi, err := in.GetQueueInfo(queue.QueueDefault)
		if err != nil || int64(qi.Scheduled) != n {
			b.Fatalf("scheduled set holds %v tasks (%v); scheduled %d", qi, err, n)
		}
		in.Close()
		after := usedMemory(b, rdb)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "reminders/s")
		b.ReportMetric(float64(after-before)/float64(n), "B/reminder")
		b.ReportMetric(float64(n), "reminders")
		sched.Close()
		b.StartTimer()
	}
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal(fmt.Errorf("no used_memory in INFO memory"))
	return 0
}
