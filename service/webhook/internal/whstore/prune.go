package whstore

import (
	"context"
	"fmt"
	"time"

	"realname/model"
)

// Pruned is what one batch of pruning found and deleted.
type Pruned struct {
	Found                        int // rows the batch read; fewer than its limit: the last batch
	Deliveries, Attempts, Events int64
}

// PruneDeliveries deletes, with their attempts, up to limit deliveries in
// finished state s that finished (were last claimed, which set
// next_attempt_at) before cutoff. The read rides the (status,
// next_attempt_at) index. Deleting work, not history, is refused.
func (st *Store) PruneDeliveries(ctx context.Context, s State, cutoff time.Time, limit int) (Pruned, error) {
	var p Pruned
	if !Finished(s) {
		return p, fmt.Errorf("%w: pruning %q deliveries", ErrTransition, s)
	}
	var ids []int64
	if err := st.db.WithContext(ctx).Model(&model.WebhookDelivery{}).Where("status = ? AND next_attempt_at < ?", string(s), cutoff).
		Order("next_attempt_at").Limit(limit).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return p, err
	}
	p.Found = len(ids)
	err := st.Queue(ctx, func(tx *Tx) error {
		res := tx.db.Where("delivery_id IN ?", ids).Delete(&model.WebhookAttempt{})
		if res.Error != nil {
			return res.Error
		}
		p.Attempts = res.RowsAffected
		res = tx.db.Where("id IN ? AND status = ?", ids, string(s)).Delete(&model.WebhookDelivery{})
		p.Deliveries = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return Pruned{Found: p.Found}, err
	}
	return p, nil
}

// PruneEvents deletes up to limit fanned-out events older than cutoff that
// have no delivery left, and raises the feed's pruned_seq past them. The
// read rides the (fanned_out_at, created_at) index.
func (st *Store) PruneEvents(ctx context.Context, cutoff time.Time, limit int) (Pruned, error) {
	var p Pruned
	var ids []string
	left := st.db.Model(&model.WebhookDelivery{}).Select("1").Where("webhook_deliveries.event_id = webhook_events.id")
	if err := st.db.WithContext(ctx).Model(&model.WebhookEvent{}).
		Where("fanned_out_at < ? AND created_at < ? AND NOT EXISTS (?)", cutoff, cutoff, left).
		Limit(limit).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return p, err
	}
	p.Found = len(ids)
	err := st.Queue(ctx, func(tx *Tx) error {
		p.Events = 0
		// Checked again under the delete: a replay may have queued one of
		// these events to an endpoint since the read.
		again := tx.db.Model(&model.WebhookDelivery{}).Select("1").Where("webhook_deliveries.event_id = webhook_events.id")
		// The feed must know how far it lost events: a reader's cursor
		// from before that point is answered ErrCursorExpired.
		var top *int64
		if err := tx.db.Model(&model.WebhookEvent{}).Where("id IN ? AND NOT EXISTS (?)", ids, again).
			Select("MAX(seq)").Scan(&top).Error; err != nil {
			return err
		}
		res := tx.db.Where("id IN ? AND NOT EXISTS (?)", ids, again).Delete(&model.WebhookEvent{})
		if res.Error != nil {
			return res.Error
		}
		p.Events = res.RowsAffected
		if top == nil {
			return nil
		}
		return tx.db.Model(&model.EventSequence{}).Where("name = ? AND pruned_seq < ?", FeedName, *top).
			Update("pruned_seq", *top).Error
	})
	return p, err
}
