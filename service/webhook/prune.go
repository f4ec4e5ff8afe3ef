package webhook

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
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
	for _, status := range []string{StatusSucceeded, StatusFailed} {
		for {
			n, err := s.pruneDeliveries(ctx, status, cutoff, &st)
			if err != nil {
				return st, err
			}
			if n < pruneBatch {
				break
			}
		}
	}
	for {
		n, err := s.pruneEvents(ctx, cutoff, &st)
		if err != nil {
			return st, err
		}
		if n < pruneBatch {
			break
		}
	}
	return st, nil
}

// pruneDeliveries deletes one batch of deliveries in status that finished
// before cutoff, with their attempts; it returns the batch's size.
func (s *Service) pruneDeliveries(ctx context.Context, status string, cutoff time.Time, st *PruneStats) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&model.WebhookDelivery{}).
		Where("status = ? AND next_attempt_at < ?", status, cutoff).
		Order("next_attempt_at").Limit(pruneBatch).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return 0, wrapPrune(err)
	}
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("delivery_id IN ?", ids).Delete(&model.WebhookAttempt{})
		if res.Error != nil {
			return res.Error
		}
		attempts := res.RowsAffected
		res = tx.Where("id IN ? AND status = ?", ids, status).Delete(&model.WebhookDelivery{})
		if res.Error == nil {
			st.Attempts += attempts
			st.Deliveries += res.RowsAffected
		}
		return res.Error
	})
	return len(ids), wrapPrune(err)
}

// pruneEvents deletes one batch of fanned-out events older than cutoff
// that have no delivery left; it returns the batch's size.
func (s *Service) pruneEvents(ctx context.Context, cutoff time.Time, st *PruneStats) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var ids []string
	left := s.db.Model(&model.WebhookDelivery{}).Select("1").Where("webhook_deliveries.event_id = webhook_events.id")
	if err := s.db.WithContext(ctx).Model(&model.WebhookEvent{}).
		Where("fanned_out_at < ? AND created_at < ? AND NOT EXISTS (?)", cutoff, cutoff, left).
		Limit(pruneBatch).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return 0, wrapPrune(err)
	}
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		// Checked again under the delete: a replay may have queued one of
		// these events to an endpoint since the read.
		again := tx.Model(&model.WebhookDelivery{}).Select("1").Where("webhook_deliveries.event_id = webhook_events.id")
		// The feed must know how far it lost events: a reader's cursor
		// from before that point is answered ErrCursorExpired.
		var top *int64
		if err := tx.Model(&model.WebhookEvent{}).Where("id IN ? AND NOT EXISTS (?)", ids, again).
			Select("MAX(seq)").Scan(&top).Error; err != nil {
			return err
		}
		res := tx.Where("id IN ? AND NOT EXISTS (?)", ids, again).Delete(&model.WebhookEvent{})
		if res.Error != nil {
			return res.Error
		}
		st.Events += res.RowsAffected
		if top == nil {
			return nil
		}
		return tx.Model(&model.EventSequence{}).Where("name = ? AND pruned_seq < ?", feedName, *top).
			Update("pruned_seq", *top).Error
	})
	return len(ids), wrapPrune(err)
}

func wrapPrune(err error) error {
	if err != nil {
		return fmt.Errorf("webhook: prune: %w", err)
	}
	return nil
}
