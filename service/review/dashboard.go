package review

import (
	"context"
	"fmt"
	"sort"
	"time"

	"realname/model"
	"realname/service/store"
)

// Dashboard is the day at a glance.
type Dashboard struct {
	Since     time.Time    // start of today in the service's zone
	States    []StateCount // verifications by the state they reached today
	InReview  int64        // the whole review queue
	Unclaimed int64        // of which nobody holds a live claim
	Providers []ProviderStat
	Faces     []StateCount // face checks started today, by outcome ("pending" while unanswered)
	Webhooks  []StateCount // deliveries not yet succeeded, by status
	Oldest    *time.Time   // the oldest pending delivery's due time
}

// StateCount is a count by state or status.
type StateCount struct {
	State string
	N     int64
}

// ProviderStat is one vendor's calls today. Calls leave out answers from
// the cache and calls skipped by an open circuit breaker.
type ProviderStat struct {
	Kind, Provider string
	Calls, Failed  int64
	AvgLatencyMS   int64
	MaxLatencyMS   int64
}

// SuccessRate is the share of calls that got an answer, in percent.
func (p ProviderStat) SuccessRate() float64 {
	if p.Calls == 0 {
		return 0
	}
	return 100 * float64(p.Calls-p.Failed) / float64(p.Calls)
}

// Dashboard counts today's work from the tables: states, the queue,
// provider calls (success rate and latency from provider_attempts) and the
// webhook backlog.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	now := s.now()
	out := Dashboard{Since: s.today(now).UTC()}
	db := s.reads.WithContext(ctx)
	err := db.Model(&model.Verification{}).Select("state, COUNT(*) AS n").Where("updated_at >= ?", out.Since).
		Group("state").Order("state").Scan(&out.States).Error
	if err != nil {
		return out, fmt.Errorf("review: dashboard states: %w", err)
	}
	if err := db.Model(&model.Verification{}).Where("state = ?", string(store.Review)).Count(&out.InReview).Error; err != nil {
		return out, fmt.Errorf("review: dashboard queue: %w", err)
	}
	err = db.Model(&model.Verification{}).Where("state = ?", string(store.Review)).
		Where("claimed_by IS NULL OR claimed_until IS NULL OR claimed_until < ?", now).Count(&out.Unclaimed).Error
	if err != nil {
		return out, fmt.Errorf("review: dashboard queue: %w", err)
	}
	if out.Providers, err = s.providerStats(ctx, out.Since); err != nil {
		return out, err
	}
	err = db.Model(&model.FaceCheck{}).Select("CASE WHEN outcome = '' THEN 'pending' ELSE outcome END AS state, COUNT(*) AS n").
		Where("created_at >= ?", out.Since).Group("state").Order("state").Scan(&out.Faces).Error
	if err != nil {
		return out, fmt.Errorf("review: dashboard face checks: %w", err)
	}
	err = db.Model(&model.WebhookDelivery{}).Select("status AS state, COUNT(*) AS n").Where("status <> ?", "succeeded").
		Group("status").Order("status").Scan(&out.Webhooks).Error
	if err != nil {
		return out, fmt.Errorf("review: dashboard webhooks: %w", err)
	}
	var oldest []model.WebhookDelivery
	err = db.Select("id", "next_attempt_at").Where("status = ?", "pending").Order("next_attempt_at").Limit(1).Find(&oldest).Error
	if err != nil {
		return out, fmt.Errorf("review: dashboard webhooks: %w", err)
	}
	if len(oldest) == 1 {
		out.Oldest = &oldest[0].NextAttemptAt
	}
	return out, nil
}

// today is the midnight that began now's day in the service's zone: where
// the dashboard's "today" and its charts' days start.
func (s *Service) today(now time.Time) time.Time {
	y, m, d := now.In(s.zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.zone)
}

// callOutcome says what a recorded attempt's outcome means for the
// dashboard: whether a vendor was called at all (not for an answer from
// the cache, a call an open breaker skipped, or an OCR answer reused as
// the check), and whether that call failed (no answer: vendors bill the
// others).
func callOutcome(outcome string) (called, failed bool) {
	switch outcome {
	case "circuit_open", "cached", "reused_from_ocr", "in_flight":
		return false, false
	case "failed", "limit", "interrupted": // interrupted: a crash during the call; it may have reached the vendor
		return true, true
	}
	return true, false
}

func (s *Service) providerStats(ctx context.Context, since time.Time) ([]ProviderStat, error) {
	var rows []struct {
		Kind, Provider, Outcome string
		N, Total, Slowest       int64
	}
	err := s.reads.WithContext(ctx).Model(&model.ProviderAttempt{}).
		Select("kind, provider, outcome, COUNT(*) AS n, SUM(latency_ms) AS total, MAX(latency_ms) AS slowest").
		Where("created_at >= ?", since).Group("kind, provider, outcome").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("review: dashboard providers: %w", err)
	}
	byKey := map[[2]string]*ProviderStat{}
	var total = map[[2]string]int64{}
	for _, r := range rows {
		called, failed := callOutcome(r.Outcome)
		if !called {
			continue
		}
		k := [2]string{r.Kind, r.Provider}
		p := byKey[k]
		if p == nil {
			p = &ProviderStat{Kind: r.Kind, Provider: r.Provider}
			byKey[k] = p
		}
		p.Calls += r.N
		if failed {
			p.Failed += r.N
		}
		total[k] += r.Total
		p.MaxLatencyMS = max(p.MaxLatencyMS, r.Slowest)
	}
	out := make([]ProviderStat, 0, len(byKey))
	for k, p := range byKey {
		if p.Calls > 0 {
			p.AvgLatencyMS = total[k] / p.Calls
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Provider < out[j].Provider
	})
	return out, nil
}
