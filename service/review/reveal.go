package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/store"
)

// Reveal opens a case's personal values for one reviewer and records that
// they looked: an audit event "revealed" naming them, on the case's chain,
// written before anything is shown.
func (s *Service) Reveal(ctx context.Context, vid, adminID int64) (Case, error) {
	v, err := s.load(ctx, s.db, vid)
	if err != nil {
		return Case{}, err
	}
	if v.ErasedAt != nil {
		return Case{}, ErrErased
	}
	v, err = s.store.AppendEvent(ctx, vid, store.Event{Type: EventRevealed, Actor: Actor(adminID),
		Data: map[string]any{"fields": []string{"name", "id_number", "card", "photos"}}})
	if err != nil {
		return Case{}, wrapState(err)
	}
	return s.build(ctx, v, true)
}

// Photo returns one side's photo, decrypted, for a reviewer who revealed
// the case within the reveal window: photos are personal data too, and
// their viewing is covered by that audited reveal.
func (s *Service) Photo(ctx context.Context, vid, adminID int64, side string) ([]byte, error) {
	v, err := s.load(ctx, s.db, vid)
	if err != nil {
		return nil, err
	}
	ref := v.FrontBlob
	if side == "back" {
		ref = v.BackBlob
	} else if side != "front" {
		return nil, ErrNotFound
	}
	if v.ErasedAt != nil || v.PhotosDeletedAt != nil || ref == "" {
		return nil, ErrPhotosGone
	}
	if _, ok, err := s.lastReveal(ctx, vid, adminID); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrRevealRequired
	}
	data, err := s.blobs.Get(ctx, ref)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrPhotosGone, err)
	}
	return data, nil
}

// CaseFor is case vid as adminID may see it now: revealed while their last
// audited reveal is within the reveal window (so reloading the page shows
// the values again without a second audit entry), masked otherwise.
// RevealedUntil says when that look ends.
func (s *Service) CaseFor(ctx context.Context, vid, adminID int64) (Case, error) {
	v, err := s.load(ctx, s.db, vid)
	if err != nil {
		return Case{}, err
	}
	at, ok, err := s.lastReveal(ctx, vid, adminID)
	if err != nil {
		return Case{}, err
	}
	open := ok && v.ErasedAt == nil
	c, err := s.build(ctx, v, open)
	if open {
		until := at.Add(s.opts.RevealWindow)
		c.RevealedUntil = &until
	}
	return c, err
}

// lastReveal is when adminID last revealed case vid, if within the window.
func (s *Service) lastReveal(ctx context.Context, vid, adminID int64) (time.Time, bool, error) {
	var e model.VerificationEvent
	err := s.db.WithContext(ctx).
		Where("verification_id = ? AND type = ? AND actor = ? AND created_at >= ?", vid, EventRevealed, Actor(adminID), s.now().Add(-s.opts.RevealWindow)).
		Order("created_at DESC").Limit(1).Find(&e).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("review: reveal check: %w", err)
	}
	if e.ID == 0 {
		return time.Time{}, false, nil
	}
	return e.CreatedAt, true, nil
}
