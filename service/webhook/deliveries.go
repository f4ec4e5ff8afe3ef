package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// Delivery is one event on its way to one endpoint, as the admin pages
// list it.
type Delivery struct {
	ID            int64
	EventID       string
	EventType     string
	EndpointID    int64
	Status        string // pending, delivering, succeeded, failed, paused
	Attempts      int
	NextAttemptAt time.Time // for delivering: when the worker's lease runs out
	LastStatus    int       // HTTP status of the last attempt; 0: no answer
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Attempt is one POST of a delivery.
type Attempt struct {
	ID         int64
	StatusCode int // 0: no answer (network error, timeout, refused destination)
	Latency    time.Duration
	Response   string // the first KB of the answer
	Error      string
	At         time.Time
}

// DeliveryFilter selects deliveries; zero fields do not filter.
type DeliveryFilter struct {
	EndpointID int64
	Status     string
	EventID    string
	BeforeID   int64 // page: deliveries with a smaller id
	Limit      int   // default 50, at most 500
}

// Deliveries lists deliveries newest first. Page on with BeforeID set to
// the last id of the previous page.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := s.db.WithContext(ctx).Order("id DESC").Limit(min(limit, 500))
	if f.EndpointID != 0 {
		q = q.Where("endpoint_id = ?", f.EndpointID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.EventID != "" {
		q = q.Where("event_id = ?", f.EventID)
	}
	if f.BeforeID != 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var rows []model.WebhookDelivery
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("webhook: deliveries: %w", err)
	}
	return s.views(ctx, rows)
}

// DeliveryAttempts returns one delivery with its attempts, oldest first.
func (s *Service) DeliveryAttempts(ctx context.Context, id int64) (Delivery, []Attempt, error) {
	var d model.WebhookDelivery
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Delivery{}, nil, fmt.Errorf("%w: delivery %d", ErrNotFound, id)
	}
	if err != nil {
		return Delivery{}, nil, fmt.Errorf("webhook: delivery %d: %w", id, err)
	}
	views, err := s.views(ctx, []model.WebhookDelivery{d})
	if err != nil {
		return Delivery{}, nil, err
	}
	var rows []model.WebhookAttempt
	if err := s.db.WithContext(ctx).Where("delivery_id = ?", id).Order("id").Find(&rows).Error; err != nil {
		return Delivery{}, nil, fmt.Errorf("webhook: attempts of delivery %d: %w", id, err)
	}
	out := make([]Attempt, len(rows))
	for i, a := range rows {
		out[i] = Attempt{ID: a.ID, StatusCode: a.StatusCode, Latency: time.Duration(a.LatencyMS) * time.Millisecond,
			Response: a.Response, Error: a.Error, At: a.CreatedAt}
	}
	return views[0], out, nil
}

// views adds the event types to delivery rows.
func (s *Service) views(ctx context.Context, rows []model.WebhookDelivery) ([]Delivery, error) {
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].EventID
	}
	types := map[string]string{}
	if len(ids) > 0 {
		var events []model.WebhookEvent
		if err := s.db.WithContext(ctx).Select("id", "type").Where("id IN ?", ids).Find(&events).Error; err != nil {
			return nil, fmt.Errorf("webhook: deliveries: %w", err)
		}
		for _, e := range events {
			types[e.ID] = e.Type
		}
	}
	out := make([]Delivery, len(rows))
	for i, d := range rows {
		out[i] = Delivery{ID: d.ID, EventID: d.EventID, EventType: types[d.EventID], EndpointID: d.EndpointID, Status: d.Status,
			Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastStatus: d.LastStatus, LastError: d.LastError,
			CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	}
	return out, nil
}
