package webhook

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/service/webhook/internal/whstore"
)

// Delivery outcomes counted by realname_webhook_deliveries_total.
const (
	outcomeSucceeded = "succeeded"  // answered 2xx
	outcomeRetrying  = "retrying"   // failed, another attempt is scheduled
	outcomeFailed    = "failed"     // failed, the schedule is exhausted
	outcomeLeaseLost = "lease_lost" // the result came after another worker took over
)

type metrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	backlog    *prometheus.GaugeVec
	oldest     prometheus.Gauge
	disabled   prometheus.Counter
	reclaimed  prometheus.Counter
	fannedOut  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realname_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: succeeded, retrying, failed (schedule exhausted), lease_lost.",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "realname_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook POSTs, by result class (2xx, 3xx, 4xx, 5xx, error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"result"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "realname_webhook_backlog",
			Help: "Webhook work not yet done: events not fanned out (unfanned) and deliveries pending, delivering or paused (endpoint disabled).",
		}, []string{"state"}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "realname_webhook_oldest_pending_seconds",
			Help: "How long the longest-waiting due work has waited: an event not yet fanned out, or a pending delivery past its due time.",
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realname_webhook_endpoints_disabled_total",
			Help: "Endpoints disabled automatically after failing without a success for the configured time.",
		}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realname_webhook_reclaimed_total",
			Help: "Deliveries whose worker's lease ran out (crashed or stalled worker) and were put back in the queue.",
		}),
		fannedOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realname_webhook_events_fanned_out_total",
			Help: "Outbox events turned into deliveries.",
		}),
	}
	// Every label value exported at zero from the start, so an alert's
	// increase() sees the first dead delivery.
	for _, o := range []string{outcomeSucceeded, outcomeRetrying, outcomeFailed, outcomeLeaseLost} {
		m.deliveries.WithLabelValues(o)
	}
	for _, status := range []int{0, 200, 300, 400, 500} {
		m.latency.WithLabelValues(resultClass(status))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.latency, m.backlog, m.oldest, m.disabled, m.reclaimed, m.fannedOut} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("webhook: register metrics"), err)
		}
	}
	return m, nil
}

// resultClass is the latency label of an attempt.
func resultClass(status int) string {
	switch {
	case status == 0:
		return "error"
	case status < 300:
		return "2xx"
	case status < 400:
		return "3xx"
	case status < 500:
		return "4xx"
	}
	return "5xx"
}

// metricsLoop refreshes the backlog gauges; every instance does, and they
// all report the same shared queue.
func (s *Service) metricsLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.MetricsInterval)
	defer t.Stop()
	for {
		if err := s.refreshBacklog(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook backlog metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Backlog is the queue's size, as the gauges report it.
type Backlog = whstore.Backlog

// Backlog counts the work not yet done.
func (s *Service) Backlog(ctx context.Context) (Backlog, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	return s.st.Backlog(ctx, s.now())
}

func (s *Service) refreshBacklog(ctx context.Context) error {
	b, err := s.Backlog(ctx)
	if err != nil {
		return err
	}
	s.metrics.backlog.WithLabelValues("unfanned").Set(float64(b.Unfanned))
	s.metrics.backlog.WithLabelValues(whstore.Pending.String()).Set(float64(b.Pending))
	s.metrics.backlog.WithLabelValues(whstore.Delivering.String()).Set(float64(b.Delivering))
	s.metrics.backlog.WithLabelValues(whstore.Paused.String()).Set(float64(b.Paused))
	s.metrics.oldest.Set(b.Oldest.Seconds())
	return nil
}
