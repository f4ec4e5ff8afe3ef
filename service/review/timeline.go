package review

import (
	"context"
	"fmt"
	"time"

	"realname/model"
)

// WebhookEvent is an outbox row of the case with its deliveries.
type WebhookEvent struct {
	ID         string
	Type       string
	CreatedAt  time.Time
	Deliveries []Delivery // empty until the dispatcher fans the event out (or when no endpoint is configured)
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID            int64
	EndpointURL   string
	Status        string
	Attempts      int
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
}

// timeline loads the case's audit events, oldest first.
func (s *Service) timeline(ctx context.Context, c *Case) error {
	var rows []model.VerificationEvent
	if err := s.reads.WithContext(ctx).Where("verification_id = ?", c.ID).Order("id").Find(&rows).Error; err != nil {
		return fmt.Errorf("review: timeline: %w", err)
	}
	var err error
	c.Events, err = s.named(ctx, rows)
	return err
}

// caseWebhooks lists the outbox events of a case and where each went.
func (s *Service) caseWebhooks(ctx context.Context, vid int64) ([]WebhookEvent, error) {
	var evs []model.WebhookEvent
	err := s.reads.WithContext(ctx).Select("id", "type", "created_at").Where("verification_id = ?", vid).
		Order("created_at, id").Find(&evs).Error
	if err != nil {
		return nil, fmt.Errorf("review: webhook events: %w", err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	var ds []model.WebhookDelivery
	if err := s.reads.WithContext(ctx).Where("event_id IN ?", ids).Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("review: webhook deliveries: %w", err)
	}
	var endpointIDs []int64
	for _, d := range ds {
		endpointIDs = append(endpointIDs, d.EndpointID)
	}
	urls := map[int64]string{}
	if len(endpointIDs) > 0 {
		var eps []model.WebhookEndpoint
		if err := s.reads.WithContext(ctx).Select("id", "url").Where("id IN ?", endpointIDs).Find(&eps).Error; err != nil {
			return nil, fmt.Errorf("review: webhook endpoints: %w", err)
		}
		for _, e := range eps {
			urls[e.ID] = e.URL
		}
	}
	byEvent := map[string][]Delivery{}
	for _, d := range ds {
		byEvent[d.EventID] = append(byEvent[d.EventID], Delivery{ID: d.ID, EndpointURL: urls[d.EndpointID], Status: d.Status,
			Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, NextAttemptAt: d.NextAttemptAt})
	}
	out := make([]WebhookEvent, len(evs))
	for i, e := range evs {
		out[i] = WebhookEvent{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt, Deliveries: byEvent[e.ID]}
	}
	return out, nil
}
