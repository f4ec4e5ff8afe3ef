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

	"realname/service/webhook/internal/whstore"
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
	events, err := s.events(ctx, ds)
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
			results[i] = s.deliver(ctx, &ds[i].WebhookDelivery, events[ds[i].EventID], targets[ds[i].EndpointID])
		})
	}
	wg.Wait()
	if err := s.record(ctx, lease, ds, results); err != nil {
		return len(ds), err
	}
	return len(ds), s.health(ctx, targets, ds, results)
}

// record stores the attempts and the deliveries' new states in one
// transaction, fenced by the lease id (see whstore.Record).
func (s *Service) record(ctx context.Context, lease string, ds []whstore.Claimed, results []result) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	now := s.now()
	outcomes := make([]whstore.Outcome, len(ds))
	for i, r := range results {
		d := &ds[i]
		s.metrics.latency.WithLabelValues(resultClass(r.status)).Observe(r.latency.Seconds())
		o := whstore.Outcome{DeliveryID: d.ID, Move: whstore.Deliver, StatusCode: r.status, Latency: r.latency,
			Response: r.response, Error: truncate(r.err, 512)}
		if !r.ok {
			o.Move = whstore.GiveUp
			// 410 Gone is the receiver saying it will never take events again
			// (Standard Webhooks): no retry; health disables the endpoint.
			if wait, ok := s.retryIn(d.Attempts+1, r.retryAfter); ok && r.status != http.StatusGone {
				o.Move, o.RetryAt = whstore.Retry, now.Add(wait)
			}
		}
		outcomes[i] = o
	}
	t, err := s.st.Record(ctx, lease, now, outcomes)
	if err != nil {
		return err
	}
	for outcome, n := range map[string]int64{outcomeSucceeded: t.Delivered, outcomeRetrying: t.Retried,
		outcomeFailed: t.GaveUp, outcomeLeaseLost: t.LeaseLost} {
		if n > 0 {
			s.metrics.deliveries.WithLabelValues(outcome).Add(float64(n))
		}
	}
	if t.LeaseLost > 0 {
		s.log.Warn("webhook results came after the lease ran out; another worker owns those deliveries now",
			"count", t.LeaseLost)
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
func (s *Service) health(ctx context.Context, targets map[int64]*target, ds []whstore.Claimed, results []result) error {
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
		if err := s.st.MarkHealth(ctx, recovered, start, now); err != nil {
			return fmt.Errorf("webhook: endpoint health: %w", err)
		}
		s.invalidateTargets()
	}
	for _, t := range due {
		reason := fmt.Sprintf("disabled automatically: every delivery failed since %s (limit %v)",
			t.failingSince.UTC().Format(time.RFC3339), s.opts.DisableAfter)
		cutoff := now.Add(-s.opts.DisableAfter)
		err := s.disable(ctx, t.id, reason, &cutoff)
		if errors.Is(err, whstore.ErrNotDisabled) {
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
