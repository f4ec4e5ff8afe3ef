package review

import (
	"context"
	"errors"
	"fmt"

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
	var n int64
	err = s.db.WithContext(ctx).Model(&model.VerificationEvent{}).
		Where("verification_id = ? AND type = ? AND actor = ? AND created_at >= ?", vid, EventRevealed, Actor(adminID), s.now().Add(-s.opts.RevealWindow)).
		Count(&n).Error
	if err != nil {
		return nil, fmt.Errorf("review: reveal check: %w", err)
	}
	if n == 0 {
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
