package app

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/queue"
)

// statsCollector reports deliveries by state (from the database) and queue
// depths (from Redis) at scrape time.
type statsCollector struct {
	store interface {
		CountDeliveries(ctx context.Context) (map[hub.DeliveryState]int, error)
	}
	insp       *asynq.Inspector
	deliveries *prometheus.Desc
	queued     *prometheus.Desc
}

func newStatsCollector(st interface {
	CountDeliveries(ctx context.Context) (map[hub.DeliveryState]int, error)
}, insp *asynq.Inspector) *statsCollector {
	return &statsCollector{
		store: st, insp: insp,
		deliveries: prometheus.NewDesc("karere_deliveries", "Deliveries by state.", []string{"state"}, nil),
		queued:     prometheus.NewDesc("karere_queue_tasks", "Tasks in each Asynq queue by task state.", []string{"queue", "state"}, nil),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.queued
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if counts, err := c.store.CountDeliveries(ctx); err == nil {
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(n), string(state))
		}
	}
	for q := range queue.Weights {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			continue
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}

// signInMetrics export sign-in's counts: password checks (each an argon2id
// evaluation), TOTP codes compared, and attempts refused by the limits.
func signInMetrics(id *identity.Service) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "karere_password_checks_total",
			Help: "Staff password checks run (argon2id), dummy checks for unknown emails included."},
			func() float64 { return float64(id.Stats().PasswordChecks) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "karere_totp_checks_total",
			Help: "TOTP codes compared."},
			func() float64 { return float64(id.Stats().TOTPChecks) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "karere_sign_in_refused_total",
			Help: "Sign-in attempts refused before any check, by reason.", ConstLabels: prometheus.Labels{"reason": "locked"}},
			func() float64 { return float64(id.Stats().Locked) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "karere_sign_in_refused_total",
			Help: "Sign-in attempts refused before any check, by reason.", ConstLabels: prometheus.Labels{"reason": "busy"}},
			func() float64 { return float64(id.Stats().Busy) }),
	}
}
