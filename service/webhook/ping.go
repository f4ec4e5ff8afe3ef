package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"realname/model"
	"realname/service/store"
	"realname/service/webhook/internal/whstore"
)

// TypePing is the test event an admin sends to one endpoint: signed and
// delivered like every event, so a receiver can check its signature code
// and its network path before a real decision depends on them.
const TypePing = "ping"

// PingPayload is the body of a ping event's data.
type PingPayload struct {
	EndpointID int64  `json:"endpoint_id"`
	Message    string `json:"message"`
	Test       bool   `json:"test"`
}

// Ping queues a ping event for endpoint id alone and returns its event id.
// The event is stored already fanned out, with one delivery, so no other
// endpoint receives it and the endpoint's event-type filter does not hold
// it back. It is the webhook service's own event, about no verification.
func (s *Service) Ping(ctx context.Context, id int64) (string, error) {
	evID := store.NewEventID() // the ids every other event has: receivers deduplicate on them
	raw, err := json.Marshal(PingPayload{EndpointID: id, Message: "realname test event", Test: true})
	if err != nil {
		return "", err
	}
	err = s.st.Tx(ctx, func(tx *whstore.Tx) error {
		e, err := tx.Endpoint(id)
		if err != nil {
			return err
		}
		if !e.Enabled {
			return invalid("endpoint_disabled", "endpoint %d is disabled", id)
		}
		now := s.now()
		if err := tx.CreateEvent(&model.WebhookEvent{ID: evID, Type: TypePing, Payload: string(raw), CreatedAt: now, FannedOutAt: &now}); err != nil {
			return err
		}
		_, err = tx.Create([]whstore.NewDelivery{{EventID: evID, EndpointID: id, Move: whstore.Queue}}, now)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
			return "", err
		}
		return "", fmt.Errorf("webhook: ping %d: %w", id, err)
	}
	s.kick()
	return evID, nil
}

// SetAllowPrivate lets endpoint id reach private (RFC 1918, ULA)
// addresses, or stops it: what a delivery error to such an address asks
// for. Turning it on fails with code private_network_off when
// configuration does not offer the switch; turning it off always works.
func (s *Service) SetAllowPrivate(ctx context.Context, id int64, allow bool) error {
	if err := s.checkPrivate(allow); err != nil {
		return err
	}
	err := s.st.SetAllowPrivate(ctx, id, allow, s.now())
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("webhook: endpoint %d network: %w", id, err)
	}
	s.invalidateTargets()
	return err
}

// PrivateNetworks reports whether the endpoints' private-network switch is
// offered (Options.PrivateNetworks), so the admin pages show it or not.
func (s *Service) PrivateNetworks() bool { return s.opts.PrivateNetworks }

// checkPrivate refuses the private-network switch when configuration does
// not offer it: in production it opens the company's network to whoever
// can edit endpoints, so the operator must agree first.
func (s *Service) checkPrivate(allow bool) error {
	if allow && !s.opts.PrivateNetworks {
		return invalid("private_network_off", "the private-network switch is off in this deployment "+
			"(REALNAME_WEBHOOK_ALLOW_PRIVATE=true offers it in production; REALNAME_WEBHOOK_ALLOW_CIDRS lists networks for every endpoint)")
	}
	return nil
}
