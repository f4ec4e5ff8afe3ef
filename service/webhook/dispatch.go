package webhook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// maxInFlight bounds one worker's concurrent POSTs. Batches are large
// because every claim scans the queue index past the entries earlier claims
// left behind (dead until PostgreSQL reclaims them): 50-row claims spent
// 16.7 s of PostgreSQL's time on that scan in a 50,000-delivery drain,
// 200-row claims 3.6 s. The POSTs of such a batch still go out at most this
// many at a time, so a receiver sees no more connections than before.
const maxInFlight = 100

// workerLoop claims and sends batches until ctx ends.
func (s *Service) workerLoop(ctx context.Context, n int) {
	log := s.log.With("worker", n)
	for ctx.Err() == nil {
		got, err := s.work(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("webhook worker", "err", err)
		}
		// A full batch means more is due: go on at once.
		if got == s.opts.BatchSize && err == nil {
			continue
		}
		if !s.sleep(ctx, s.opts.PollInterval) {
			return
		}
	}
}

// work claims one batch, sends it and records the results; it returns how
// many deliveries it claimed.
func (s *Service) work(ctx context.Context) (int, error) {
	targets, err := s.enabledTargets(ctx)
	if err != nil || len(targets) == 0 {
		return 0, err
	}
	ds, lease, err := s.claim(ctx, slices.Collect(maps.Keys(targets)))
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	// Once claimed, a batch is finished even when shutdown begins: the
	// POSTs are bounded by Timeout, and an abandoned lease would only delay
	// these deliveries until it ran out.
	ctx = context.WithoutCancel(ctx)
	events, err := s.loadEvents(ctx, ds)
	if err != nil {
		return len(ds), err // the leases run out and the sweep requeues them
	}
	results := make([]result, len(ds))
	var wg sync.WaitGroup
	inFlight := make(chan struct{}, maxInFlight)
	for i := range ds {
		inFlight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inFlight }()
			results[i] = s.deliver(ctx, &ds[i], events[ds[i].EventID], targets[ds[i].EndpointID])
		})
	}
	wg.Wait()
	if err := s.record(ctx, lease, ds, results); err != nil {
		return len(ds), err
	}
	return len(ds), s.health(ctx, targets, ds, results)
}

// update is the new state of one delivery after an attempt.
type update struct {
	id      int64
	outcome string
	set     map[string]any
}

// record stores the attempts and the deliveries' new states in one
// transaction. Each update is fenced by the lease id: a worker whose lease
// ran out and was taken over by another does not overwrite that one's state.
func (s *Service) record(ctx context.Context, lease string, ds []model.WebhookDelivery, results []result) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	now := s.now()
	attempts := make([]model.WebhookAttempt, len(ds))
	// Successes share their new state except the status code, so they are
	// written with one UPDATE per code rather than one per row.
	succeeded := map[int][]int64{}
	var updates []update
	for i, r := range results {
		d := &ds[i]
		attempts[i] = model.WebhookAttempt{DeliveryID: d.ID, StatusCode: r.status, LatencyMS: r.latency.Milliseconds(),
			Response: r.response, Error: truncate(r.err, 512), CreatedAt: now}
		s.metrics.latency.WithLabelValues(resultClass(r.status)).Observe(r.latency.Seconds())
		if r.ok {
			succeeded[r.status] = append(succeeded[r.status], d.ID)
			continue
		}
		u := update{id: d.ID, outcome: outcomeFailed, set: map[string]any{"status": StatusFailed}}
		// 410 Gone is the receiver saying it will never take events again
		// (Standard Webhooks): no retry; health disables the endpoint.
		if wait, ok := s.retryIn(d.Attempts+1, r.retryAfter); ok && r.status != http.StatusGone {
			u.outcome = outcomeRetrying
			u.set = map[string]any{"status": StatusPending, "next_attempt_at": now.Add(wait)}
		}
		maps.Copy(u.set, map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_status": r.status,
			"last_error": truncate(r.err, 512), "lease_id": "", "lease_until": nil, "updated_at": now})
		updates = append(updates, u)
	}
	counts := map[string]int64{}
	err := s.leaseTx(ctx, func(tx *gorm.DB) error {
		clear(counts) // a deadlock victim runs again: start from scratch
		for i := range attempts {
			attempts[i].ID = 0
		}
		if err := tx.CreateInBatches(&attempts, 200).Error; err != nil {
			return err
		}
		for code, ids := range succeeded {
			res := tx.Model(&model.WebhookDelivery{}).Where("id IN ? AND lease_id = ?", ids, lease).Updates(map[string]any{
				"status": StatusSucceeded, "attempts": gorm.Expr("attempts + 1"), "last_status": code, "last_error": "",
				"lease_id": "", "lease_until": nil, "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			counts[outcomeSucceeded] += res.RowsAffected
			counts[outcomeLeaseLost] += int64(len(ids)) - res.RowsAffected
		}
		for _, u := range updates {
			res := tx.Model(&model.WebhookDelivery{}).Where("id = ? AND lease_id = ?", u.id, lease).Updates(u.set)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				counts[outcomeLeaseLost]++
			} else {
				counts[u.outcome]++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhook: record attempts: %w", err)
	}
	for outcome, n := range counts {
		s.metrics.deliveries.WithLabelValues(outcome).Add(float64(n))
	}
	if counts[outcomeLeaseLost] > 0 {
		s.log.Warn("webhook results came after the lease ran out; another worker owns those deliveries now",
			"count", counts[outcomeLeaseLost])
	}
	return nil
}

// retryIn returns the wait before the next try after the attempt-th one
// failed, or false when the schedule is used up. A little jitter keeps a
// receiver that comes back from an outage from getting the whole backlog in
// the same second. Retry-After lengthens the wait, never shortens it: a
// receiver saying "in 1 s" every time must not use up a day's schedule in
// seconds.
func (s *Service) retryIn(attempt int, retryAfter time.Duration) (time.Duration, bool) {
	if attempt > len(s.opts.Schedule) {
		return 0, false
	}
	wait := s.opts.Schedule[attempt-1]
	wait += rand.N(wait/10 + 1)
	return max(wait, min(retryAfter, s.opts.MaxRetryAfter)), true
}

// goneReason is the DisabledReason of an endpoint that answered 410.
const goneReason = "the endpoint answered 410 Gone: it asked for no more events"

// health keeps each endpoint's failure streak: cleared by a success,
// started by the first failure after one, and after DisableAfter of it the
// endpoint is disabled. It writes only when the endpoint as loaded says a
// change is due, so a healthy queue costs no write per batch; a stale load
// only delays a change until the next refresh.
func (s *Service) health(ctx context.Context, targets map[int64]*target, ds []model.WebhookDelivery, results []result) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	healthy, failing, gone := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	for i, r := range results {
		if r.status == http.StatusGone {
			gone[ds[i].EndpointID] = true
			continue
		}
		if r.ok {
			healthy[ds[i].EndpointID] = true
		} else {
			failing[ds[i].EndpointID] = true
		}
	}
	for id := range gone {
		if err := s.disable(ctx, id, goneReason, nil); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		s.log.Warn("webhook endpoint answered 410 Gone; disabled", "endpoint", id)
		delete(healthy, id)
		delete(failing, id)
	}
	for id := range healthy {
		delete(failing, id) // a success is the break in a failure streak
	}
	now := s.now()
	var recovered, start []int64
	var due []*target
	for id := range healthy {
		if targets[id].failingSince != nil {
			recovered = append(recovered, id)
		}
	}
	for id := range failing {
		t := targets[id]
		switch {
		case t.failingSince == nil:
			start = append(start, id)
		case s.opts.DisableAfter >= 0 && !t.failingSince.After(now.Add(-s.opts.DisableAfter)):
			due = append(due, t)
		}
	}
	if len(recovered)+len(start) > 0 {
		release := s.writing()
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// The IS [NOT] NULL conditions keep a concurrent instance's
			// change: the first failure's time is not moved forward.
			if len(recovered) > 0 {
				if err := tx.Model(&model.WebhookEndpoint{}).Where("id IN ? AND failing_since IS NOT NULL", recovered).
					Update("failing_since", nil).Error; err != nil {
					return err
				}
			}
			if len(start) > 0 {
				return tx.Model(&model.WebhookEndpoint{}).Where("id IN ? AND failing_since IS NULL", start).
					Update("failing_since", now).Error
			}
			return nil
		})
		release()
		if err != nil {
			return fmt.Errorf("webhook: endpoint health: %w", err)
		}
		s.invalidateTargets()
	}
	for _, t := range due {
		reason := fmt.Sprintf("disabled automatically: every delivery failed since %s (limit %v)",
			t.failingSince.UTC().Format(time.RFC3339), s.opts.DisableAfter)
		cutoff := now.Add(-s.opts.DisableAfter)
		err := s.disable(ctx, t.id, reason, &cutoff)
		if errors.Is(err, errNotDisabled) {
			continue // another worker did it, or a success came in between
		}
		if err != nil {
			return err
		}
		s.metrics.disabled.Inc()
		s.log.Warn("webhook endpoint disabled after failing too long", "endpoint", t.id, "failing_since", t.failingSince)
	}
	return nil
}
