package review

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/model"
	"realname/service/store"
)

// Backlog is how the review queue stands against the SLA.
type Backlog struct {
	Waiting    int64         // cases in review
	Overdue    int64         // in review longer than the SLA
	OldestWait time.Duration // of the case waiting longest in review
}

// Backlog counts the cases waiting for staff: three reads on the queue's
// index (state, updated_at), never the rows.
func (s *Service) Backlog(ctx context.Context, sla time.Duration) (Backlog, error) {
	now := s.now()
	db := s.reads.WithContext(ctx)
	var b Backlog
	if err := db.Model(&model.Verification{}).Where("state = ?", string(store.Review)).Count(&b.Waiting).Error; err != nil {
		return b, fmt.Errorf("review: backlog: %w", err)
	}
	if err := db.Model(&model.Verification{}).Where("state = ? AND updated_at < ?", string(store.Review), now.Add(-sla)).
		Count(&b.Overdue).Error; err != nil {
		return b, fmt.Errorf("review: backlog: %w", err)
	}
	var oldest []model.Verification
	if err := db.Select("id", "updated_at").Where("state = ?", string(store.Review)).Order("updated_at").Limit(1).Find(&oldest).Error; err != nil {
		return b, fmt.Errorf("review: backlog: %w", err)
	}
	if len(oldest) == 1 {
		b.OldestWait = now.Sub(oldest[0].UpdatedAt)
	}
	return b, nil
}

// BacklogCollector exports the review backlog, read from the database at
// each scrape (every instance reports the same shared queue), so an alert
// sees cases going past the SLA though nobody has the console open. A
// scrape during a database outage leaves these out rather than failing
// the whole scrape; realname_readiness_up says why.
func (s *Service) BacklogCollector(sla time.Duration, log *slog.Logger) prometheus.Collector {
	return &backlogCollector{s: s, sla: sla, log: log,
		waiting: prometheus.NewDesc("realname_review_waiting_cases", "Cases waiting in review for staff.", nil, nil),
		overdue: prometheus.NewDesc("realname_review_overdue_cases", "Cases in review longer than REALNAME_REVIEW_SLA.", nil, nil),
		oldest:  prometheus.NewDesc("realname_review_oldest_wait_seconds", "How long the case waiting longest in review has waited.", nil, nil),
		slaD:    prometheus.NewDesc("realname_review_sla_seconds", "REALNAME_REVIEW_SLA: how long a case may wait in review.", nil, nil)}
}

type backlogCollector struct {
	s                              *Service
	sla                            time.Duration
	log                            *slog.Logger
	waiting, overdue, oldest, slaD *prometheus.Desc
}

// Describe sends the descriptors.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.overdue
	ch <- c.oldest
	ch <- c.slaD
}

// Collect reads the backlog under a short deadline: a scrape must not
// hang on a slow database.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.slaD, prometheus.GaugeValue, c.sla.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.s.Backlog(ctx, c.sla)
	if err != nil {
		c.log.Warn("review backlog metrics", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(b.Waiting))
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(b.Overdue))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.OldestWait.Seconds())
}
