package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/service/webhook/internal/whstore"
)

// Replay sends one delivery again, with a fresh retry schedule: a failed
// one after the receiver was fixed, or a succeeded one the receiver lost.
func (s *Service) Replay(ctx context.Context, deliveryID int64) error {
	err := s.st.Tx(ctx, func(tx *whstore.Tx) error {
		d, err := tx.LockDelivery(deliveryID)
		if err != nil {
			return err
		}
		if !whstore.Finished(State(d.Status)) {
			return fmt.Errorf("%w: delivery %d is %s", ErrInFlight, d.ID, d.Status)
		}
		e, err := tx.Endpoint(d.EndpointID)
		if err != nil {
			return err
		}
		if !e.Enabled {
			return fmt.Errorf("%w: enable endpoint %d first", ErrEndpointDisabled, e.ID)
		}
		return tx.Replay(d, s.now())
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
	e, err := s.st.Endpoint(ctx, endpointID)
	if err != nil {
		return out, err
	}
	if !e.Enabled {
		return out, fmt.Errorf("%w: enable endpoint %d first", ErrEndpointDisabled, e.ID)
	}
	now := s.now()
	out.Requeued, err = s.st.ReplayFailed(ctx, e.ID, since.UTC(), now)
	if err != nil {
		return out, fmt.Errorf("webhook: replay endpoint %d: %w", e.ID, err)
	}
	// Backfill: the subscribed events it missed while disabled (or before
	// it existed), which the fan-out skipped.
	out.Backfilled, err = s.st.Backfill(ctx, e.ID, since.UTC(), now, func(t string) bool { return subscribed(e.EventTypes, t) })
	if err != nil {
		return out, fmt.Errorf("webhook: replay endpoint %d: %w", e.ID, err)
	}
	s.log.Info("webhook replay queued", "endpoint", e.ID, "since", since, "requeued", out.Requeued, "backfilled", out.Backfilled)
	s.kick()
	return out, nil
}
