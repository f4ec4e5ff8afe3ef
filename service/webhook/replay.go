package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// requeue is the state a replayed delivery starts from: a fresh schedule,
// due now. The attempts of its earlier round stay in its history.
func requeue(now time.Time) map[string]any {
	return map[string]any{"status": StatusPending, "attempts": 0, "next_attempt_at": now,
		"lease_id": "", "lease_until": nil, "updated_at": now}
}

// Replay sends one delivery again, with a fresh retry schedule: a failed
// one after the receiver was fixed, or a succeeded one the receiver lost.
func (s *Service) Replay(ctx context.Context, deliveryID int64) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d model.WebhookDelivery
		err := s.forUpdate(tx).Where("id = ?", deliveryID).Take(&d).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: delivery %d", ErrNotFound, deliveryID)
		}
		if err != nil {
			return err
		}
		if d.Status != StatusFailed && d.Status != StatusSucceeded {
			return fmt.Errorf("%w: delivery %d is %s", ErrInFlight, d.ID, d.Status)
		}
		e, err := s.endpoint(ctx, tx, d.EndpointID)
		if err != nil {
			return err
		}
		if !e.Enabled {
			return fmt.Errorf("%w: enable endpoint %d first", ErrEndpointDisabled, e.ID)
		}
		return tx.Model(&model.WebhookDelivery{}).Where("id = ?", d.ID).Updates(requeue(s.now())).Error
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInFlight) || errors.Is(err, ErrEndpointDisabled) {
			return err
		}
		return fmt.Errorf("webhook: replay delivery %d: %w", deliveryID, err)
	}
	s.kick()
	return nil
}

// ReplayResult counts what ReplaySince queued.
type ReplayResult struct {
	Requeued   int64 // failed deliveries sent again
	Backfilled int64 // events the endpoint never got a delivery for (it was disabled or did not exist yet)
}

// ReplaySince sends an endpoint everything since a time that it did not
// receive: its failed deliveries again, with a fresh schedule, and the
// subscribed events it missed while disabled (or before it existed), which
// the fan-out skipped.
func (s *Service) ReplaySince(ctx context.Context, endpointID int64, since time.Time) (ReplayResult, error) {
	var out ReplayResult
	e, err := s.endpoint(ctx, s.db, endpointID)
	if err != nil {
		return out, err
	}
	if !e.Enabled {
		return out, fmt.Errorf("%w: enable endpoint %d first", ErrEndpointDisabled, e.ID)
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&model.WebhookDelivery{}).
		Where("endpoint_id = ? AND status = ? AND created_at >= ?", e.ID, StatusFailed, since.UTC()).Updates(requeue(now))
	if res.Error != nil {
		return out, fmt.Errorf("webhook: replay endpoint %d: %w", e.ID, res.Error)
	}
	out.Requeued = res.RowsAffected
	n, err := s.backfill(ctx, &e, since.UTC(), now)
	out.Backfilled = n
	if err != nil {
		return out, fmt.Errorf("webhook: replay endpoint %d: %w", e.ID, err)
	}
	s.log.Info("webhook replay queued", "endpoint", e.ID, "since", since, "requeued", out.Requeued, "backfilled", out.Backfilled)
	s.kick()
	return out, nil
}

// backfill creates the missing deliveries of e's subscribed events since
// a time, a page at a time (keyset on created_at, id).
func (s *Service) backfill(ctx context.Context, e *model.WebhookEndpoint, since, now time.Time) (int64, error) {
	var total int64
	var afterAt time.Time
	var afterID string
	for {
		q := s.db.WithContext(ctx).Select("id", "type", "created_at").Where("created_at >= ?", since).
			Where("NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.endpoint_id = ?)", e.ID).
			Order("created_at, id").Limit(1000)
		if afterID != "" {
			q = q.Where("created_at > ? OR (created_at = ? AND id > ?)", afterAt, afterAt, afterID)
		}
		var events []model.WebhookEvent
		if err := q.Find(&events).Error; err != nil {
			return total, err
		}
		var ds []model.WebhookDelivery
		for _, ev := range events {
			if subscribed(e.EventTypes, ev.Type) {
				ds = append(ds, model.WebhookDelivery{EventID: ev.ID, EndpointID: e.ID, Status: StatusPending,
					NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
			}
		}
		if len(ds) > 0 {
			// DO NOTHING: the fan-out may be creating the same pair.
			res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&ds, 500)
			if res.Error != nil {
				return total, res.Error
			}
			total += res.RowsAffected
		}
		if len(events) < 1000 {
			return total, nil
		}
		last := events[len(events)-1]
		afterAt, afterID = last.CreatedAt, last.ID
	}
}
