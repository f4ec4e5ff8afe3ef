package handler

import (
	"context"
	"strings"
	"time"

	"realname/model"
	"realname/service/webhook"
)

// webhookAdmin fits webhook.Service to the pages' WebhookAdmin, which
// speaks in model rows so the templates need not know the service.
type webhookAdmin struct{ s *webhook.Service }

// NewWebhookAdmin adapts the webhook service for the admin pages.
func NewWebhookAdmin(s *webhook.Service) WebhookAdmin { return webhookAdmin{s} }

func endpointRow(e webhook.Endpoint) model.WebhookEndpoint {
	return model.WebhookEndpoint{ID: e.ID, URL: e.URL, EventTypes: strings.Join(e.EventTypes, ","), Enabled: e.Enabled,
		AllowPrivate: e.AllowPrivate, DisabledReason: e.DisabledReason, FailingSince: e.FailingSince,
		PrevSecretUntil: e.RotatingUntil, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

func (a webhookAdmin) Endpoints(ctx context.Context) ([]model.WebhookEndpoint, error) {
	eps, err := a.s.Endpoints(ctx)
	out := make([]model.WebhookEndpoint, len(eps))
	for i, e := range eps {
		out[i] = endpointRow(e)
	}
	return out, err
}

func (a webhookAdmin) CreateEndpoint(ctx context.Context, url string, eventTypes []string, allowPrivate bool) (model.WebhookEndpoint, string, error) {
	e, secret, err := a.s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: url, EventTypes: eventTypes, AllowPrivate: allowPrivate})
	return endpointRow(e), secret, err
}

func (a webhookAdmin) SetAllowPrivate(ctx context.Context, id int64, allow bool) error {
	return a.s.SetAllowPrivate(ctx, id, allow)
}

func (a webhookAdmin) PrivateNetworks() bool { return a.s.PrivateNetworks() }

func (a webhookAdmin) Ping(ctx context.Context, id int64) (string, error) { return a.s.Ping(ctx, id) }

func (a webhookAdmin) DisableEndpoint(ctx context.Context, id int64, reason string) error {
	return a.s.DisableEndpoint(ctx, id, reason)
}

func (a webhookAdmin) EnableEndpoint(ctx context.Context, id int64) error {
	return a.s.EnableEndpoint(ctx, id)
}

func (a webhookAdmin) RotateSecret(ctx context.Context, id int64) (string, error) {
	return a.s.RotateSecret(ctx, id)
}

func (a webhookAdmin) Deliveries(ctx context.Context, f DeliveryFilter) ([]model.WebhookDelivery, error) {
	ds, err := a.s.Deliveries(ctx, webhook.DeliveryFilter{EndpointID: f.EndpointID, Status: f.Status, BeforeID: f.BeforeID, Limit: f.Limit})
	out := make([]model.WebhookDelivery, len(ds))
	for i, d := range ds {
		out[i] = model.WebhookDelivery{ID: d.ID, EventID: d.EventID, EndpointID: d.EndpointID, Status: d.Status, Attempts: d.Attempts,
			NextAttemptAt: d.NextAttemptAt, LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	}
	return out, err
}

func (a webhookAdmin) Attempts(ctx context.Context, deliveryID int64) ([]model.WebhookAttempt, error) {
	_, as, err := a.s.DeliveryAttempts(ctx, deliveryID)
	out := make([]model.WebhookAttempt, len(as))
	for i, x := range as {
		out[i] = model.WebhookAttempt{ID: x.ID, DeliveryID: deliveryID, StatusCode: x.StatusCode, LatencyMS: x.Latency.Milliseconds(),
			Response: x.Response, Error: x.Error, CreatedAt: x.At}
	}
	return out, err
}

func (a webhookAdmin) ReplayDelivery(ctx context.Context, id int64) error { return a.s.Replay(ctx, id) }

func (a webhookAdmin) ReplayFailed(ctx context.Context, endpointID int64, since time.Time) (int, error) {
	r, err := a.s.ReplaySince(ctx, endpointID, since)
	return int(r.Requeued + r.Backfilled), err
}
