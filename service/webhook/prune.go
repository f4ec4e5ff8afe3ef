package webhook

import (
	"context"
	"fmt"

	"realname/service/webhook/internal/whstore"
)

// pruneBatch bounds one delete, so pruning a large backlog never holds
// long locks on the queue tables.
const pruneBatch = 1000

// PruneStats says what one Prune pass deleted.
type PruneStats struct {
	Deliveries, Attempts, Events int64
}

// pruneLoop runs Prune every PruneInterval until ctx ends. Every instance
// runs one; the deletes are idempotent, so overlapping passes only repeat
// an empty query.
func (s *Service) pruneLoop(ctx context.Context) {
	if s.opts.Retention < 0 {
		return
	}
	// Kicks wake the workers, not this: pruning keeps its own pace.
	for wait(ctx, s.opts.PruneInterval, nil) {
		st, err := s.Prune(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook retention", "err", err)
		}
		if st.Deliveries+st.Events > 0 {
			s.log.Info("webhook retention: deleted old deliveries and events", "deliveries", st.Deliveries,
				"attempts", st.Attempts, "events", st.Events, "older_than", s.opts.Retention)
		}
	}
}

// Prune deletes deliveries that finished (succeeded or failed) more than
// Retention ago with their attempts, then events older than that with no
// delivery left. Deliveries still pending, paused or in flight, and their
// events, are kept however old: they are work, not history. The reads ride
// indexes: (status, next_attempt_at), whose second column a finished
// delivery last set when it was claimed, and (fanned_out_at, created_at).
func (s *Service) Prune(ctx context.Context) (PruneStats, error) {
	var st PruneStats
	if s.opts.Retention < 0 {
		return st, nil
	}
	cutoff := s.now().Add(-s.opts.Retention)
	// Each batch gets its own deadline: a first pass over years of history
	// takes as many batches as it needs, none of them long.
	for _, state := range []State{whstore.Succeeded, whstore.Failed} {
		for {
			n, err := s.prune(ctx, &st, func(ctx context.Context) (whstore.Pruned, error) {
				return s.st.PruneDeliveries(ctx, state, cutoff, pruneBatch)
			})
			if err != nil {
				return st, err
			}
			if n < pruneBatch {
				break
			}
		}
	}
	for {
		n, err := s.prune(ctx, &st, func(ctx context.Context) (whstore.Pruned, error) {
			return s.st.PruneEvents(ctx, cutoff, pruneBatch)
		})
		if err != nil {
			return st, err
		}
		if n < pruneBatch {
			break
		}
	}
	return st, nil
}

// prune runs one batch with its own deadline, adds what it deleted to st
// and returns how many rows it found.
func (s *Service) prune(ctx context.Context, st *PruneStats, batch func(context.Context) (whstore.Pruned, error)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	p, err := batch(ctx)
	st.Deliveries += p.Deliveries
	st.Attempts += p.Attempts
	st.Events += p.Events
	if err != nil {
		return p.Found, fmt.Errorf("webhook: prune: %w", err)
	}
	return p.Found, nil
}
