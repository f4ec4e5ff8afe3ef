package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/webhook/internal/whstore"
)

// Delivery is one event on its way to one endpoint, as the admin pages
// list it.
type Delivery struct {
	ID            int64
	EventID       string
	EventType     string
	EndpointID    int64
	Status        State
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
	Status     State
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
	rows, err := s.st.Deliveries(ctx, whstore.DeliveryQuery{EndpointID: f.EndpointID, Status: f.Status, EventID: f.EventID,
		BeforeID: f.BeforeID, Limit: min(limit, 500)})
	if err != nil {
		return nil, fmt.Errorf("webhook: deliveries: %w", err)
	}
	return s.views(ctx, rows)
}

// DeliveryAttempts returns one delivery with its attempts, oldest first.
func (s *Service) DeliveryAttempts(ctx context.Context, id int64) (Delivery, []Attempt, error) {
	d, err := s.st.Delivery(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Delivery{}, nil, err
	}
	if err != nil {
		return Delivery{}, nil, fmt.Errorf("webhook: delivery %d: %w", id, err)
	}
	views, err := s.views(ctx, []model.WebhookDelivery{d})
	if err != nil {
		return Delivery{}, nil, err
	}
	rows, err := s.st.Attempts(ctx, id)
	if err != nil {
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
	types, err := s.st.EventTypes(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("webhook: deliveries: %w", err)
	}
	out := make([]Delivery, len(rows))
	for i, d := range rows {
		out[i] = Delivery{ID: d.ID, EventID: d.EventID, EventType: types[d.EventID], EndpointID: d.EndpointID, Status: State(d.Status),
			Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastStatus: d.LastStatus, LastError: d.LastError,
			CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	}
	return out, nil
}
