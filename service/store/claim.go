package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
)

// ErrNotClaimed says the reviewer holds no live claim on the case.
var ErrNotClaimed = errors.New("store: the case is not claimed by this reviewer")

// Audit event types of claims.
const (
	EventClaimed  = "claimed"
	EventReleased = "released"
)

// ClaimedError says another reviewer holds a live claim.
type ClaimedError struct {
	By    int64
	Until time.Time
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("store: claimed by admin %d until %s", e.By, e.Until.Format(time.RFC3339))
}

// HeldBy checks that adminID holds a live claim on v at now: nil, a
// *ClaimedError when another reviewer does, ErrNotClaimed when nobody does,
// ErrInvalidState when the case is not in review.
func HeldBy(v *model.Verification, adminID int64, now time.Time) error {
	live := v.ClaimedBy != nil && v.ClaimedUntil != nil && !v.ClaimedUntil.Before(now)
	switch {
	case v.State != Review:
		return fmt.Errorf("%w: %s", ErrInvalidState, v.State)
	case live && *v.ClaimedBy == adminID:
		return nil
	case live:
		return &ClaimedError{By: *v.ClaimedBy, Until: *v.ClaimedUntil}
	}
	return ErrNotClaimed
}

// Claim takes case vid for adminID until until, or renews their claim,
// unless another reviewer holds a live one; with an audit event. A claim
// is not a change of the case: it touches neither its version nor
// updated_at (the queue's order).
func (s *Store) Claim(ctx context.Context, vid, adminID int64, actor string, until time.Time) error {
	_, err := s.Step(ctx, vid, func(ctx context.Context, v *model.Verification) (Change, error) {
		now := s.clk.Now()
		if err := HeldBy(v, adminID, now); err != nil && !errors.Is(err, ErrNotClaimed) {
			return Change{}, err
		}
		return Change{Event: EventClaimed, Actor: actor, Data: map[string]any{"until": until},
			Set: Patch{ClaimedBy: &adminID, ClaimedUntil: &until}}, nil
	})
	return err
}

// Release gives up adminID's claim on vid, with an audit event.
func (s *Store) Release(ctx context.Context, vid, adminID int64, actor string) error {
	_, err := s.Step(ctx, vid, func(ctx context.Context, v *model.Verification) (Change, error) {
		if v.ClaimedBy == nil || *v.ClaimedBy != adminID {
			return Change{}, ErrNotClaimed
		}
		return Change{Event: EventReleased, Actor: actor, Set: Patch{ReleaseClaim: true}}, nil
	})
	return err
}
