package whstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// This file is the read model of the admin pages and the gauges: queries
// only, no writes.

// DeliveryQuery selects deliveries, newest first; zero fields do not filter.
type DeliveryQuery struct {
	EndpointID int64
	Status     State
	EventID    string
	BeforeID   int64 // keyset page: ids below this
	Limit      int
}

// Deliveries lists the deliveries q selects.
func (st *Store) Deliveries(ctx context.Context, q DeliveryQuery) ([]model.WebhookDelivery, error) {
	sel := st.db.WithContext(ctx).Order("id DESC").Limit(q.Limit)
	if q.EndpointID != 0 {
		sel = sel.Where("endpoint_id = ?", q.EndpointID)
	}
	if q.Status != None {
		sel = sel.Where("status = ?", string(q.Status))
	}
	if q.EventID != "" {
		sel = sel.Where("event_id = ?", q.EventID)
	}
	if q.BeforeID != 0 {
		sel = sel.Where("id < ?", q.BeforeID)
	}
	var rows []model.WebhookDelivery
	err := sel.Find(&rows).Error
	return rows, err
}

// Delivery returns one delivery, or ErrNotFound.
func (st *Store) Delivery(ctx context.Context, id int64) (model.WebhookDelivery, error) {
	var d model.WebhookDelivery
	err := st.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, fmt.Errorf("%w: delivery %d", ErrNotFound, id)
	}
	return d, err
}

// Attempts returns a delivery's attempts, oldest first.
func (st *Store) Attempts(ctx context.Context, deliveryID int64) ([]model.WebhookAttempt, error) {
	var rows []model.WebhookAttempt
	err := st.db.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("id").Find(&rows).Error
	return rows, err
}

// EventTypes returns the types of the events with these ids, by id.
func (st *Store) EventTypes(ctx context.Context, ids []string) (map[string]string, error) {
	types := map[string]string{}
	if len(ids) == 0 {
		return types, nil
	}
	var events []model.WebhookEvent
	if err := st.db.WithContext(ctx).Select("id", "type").Where("id IN ?", ids).Find(&events).Error; err != nil {
		return nil, err
	}
	for _, e := range events {
		types[e.ID] = e.Type
	}
	return types, nil
}

// Backlog is the queue's size, as the gauges report it.
type Backlog struct {
	Unfanned, Pending, Delivering, Paused int64
	// Oldest is how long the longest-waiting due item has waited.
	Oldest time.Duration
}

// Backlog counts the work not yet done at now.
func (st *Store) Backlog(ctx context.Context, now time.Time) (Backlog, error) {
	db := st.db.WithContext(ctx)
	var b Backlog
	if err := db.Model(&model.WebhookEvent{}).Where("fanned_out_at IS NULL").Count(&b.Unfanned).Error; err != nil {
		return b, err
	}
	for state, n := range map[State]*int64{Pending: &b.Pending, Delivering: &b.Delivering, Paused: &b.Paused} {
		if err := db.Model(&model.WebhookDelivery{}).Where("status = ?", string(state)).Count(n).Error; err != nil {
			return b, err
		}
	}
	// Both lookups ride an index: (fanned_out_at, created_at) and
	// (status, next_attempt_at).
	var ev []model.WebhookEvent
	if err := db.Select("created_at").Where("fanned_out_at IS NULL").Order("created_at").Limit(1).Find(&ev).Error; err != nil {
		return b, err
	}
	if len(ev) == 1 {
		b.Oldest = max(b.Oldest, now.Sub(ev[0].CreatedAt))
	}
	var d []model.WebhookDelivery
	if err := db.Select("next_attempt_at").Where("status = ?", string(Pending)).Order("next_attempt_at").Limit(1).Find(&d).Error; err != nil {
		return b, err
	}
	if len(d) == 1 {
		b.Oldest = max(b.Oldest, now.Sub(d[0].NextAttemptAt))
	}
	return b, nil
}
