package review

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"realname/model"
	"realname/service/store"
	"realname/service/verify"
)

// Staff is who acts on a case: the account and whether it has the admin
// role.
type Staff struct {
	AdminID int64
	Admin   bool
}

// Reveal opens a case's personal values for one reviewer and records that
// they looked: an audit event "revealed" naming them, on the case's chain,
// written before anything is shown. A reviewer reveals only a case in
// review that they hold a live claim on; any other reveal (a decided case,
// someone else's) needs the admin role and a stated reason, sealed with
// the event like a note. Every reveal counts against the staff member's
// reveal rate (Options.RevealLimit per RevealLimitWindow).
func (s *Service) Reveal(ctx context.Context, vid int64, who Staff, reason string) (Case, error) {
	reason = strings.TrimSpace(reason)
	if err := s.revealRate(ctx, who.AdminID); err != nil {
		return Case{}, err
	}
	override := false
	v, err := s.store.Step(ctx, vid, func(ctx context.Context, v *model.Verification) (store.Change, error) {
		c := store.Change{Event: EventRevealed, Actor: Actor(who.AdminID),
			Data: map[string]any{"fields": []string{"name", "id_number", "card", "photos"}}}
		override = store.HeldBy(v, who.AdminID, s.now()) != nil
		if !override {
			return c, nil
		}
		if !who.Admin {
			return store.Change{}, ErrRevealNotClaimed
		}
		if reason == "" {
			return store.Change{}, ErrRevealReason
		}
		t, _, err := verify.FreeText(s.crypto, v, "reason", reason, maxNote)
		if err != nil {
			return store.Change{}, err
		}
		c.Data["override"] = true
		c.Texts = []store.Text{t}
		return c, nil
	})
	if err != nil {
		if errors.Is(err, ErrRevealNotClaimed) || errors.Is(err, ErrRevealReason) {
			s.metrics.refused(err)
			return Case{}, err
		}
		return Case{}, wrapState(err)
	}
	s.metrics.revealed(override)
	return s.build(ctx, v, true)
}

// revealRate refuses a reveal past the staff member's limit, and the first
// time in a window records an alert in their audit chain: many reveals in
// a short time is how a bulk look at personal data shows.
func (s *Service) revealRate(ctx context.Context, adminID int64) error {
	since := s.now().Add(-s.opts.RevealLimitWindow)
	var n int64
	err := s.reads.WithContext(ctx).Model(&model.VerificationEvent{}).
		Where("created_at >= ? AND actor = ? AND type = ?", since, Actor(adminID), EventRevealed).Count(&n).Error
	if err != nil {
		return fmt.Errorf("review: reveal rate: %w", err)
	}
	if n < int64(s.opts.RevealLimit) {
		return nil
	}
	s.metrics.refused(ErrRevealRate)
	var alerts int64
	err = s.reads.WithContext(ctx).Model(&model.VerificationEvent{}).
		Where("created_at >= ? AND actor = ? AND type = ?", since, Actor(adminID), EventRevealRateExceeded).Count(&alerts).Error
	if err != nil {
		return fmt.Errorf("review: reveal rate: %w", err)
	}
	if alerts == 0 {
		s.log.Warn("a staff member reached the reveal limit", "admin_id", adminID, "reveals", n, "window", s.opts.RevealLimitWindow)
		err := s.store.AppendAction(ctx, Actor(adminID), EventRevealRateExceeded,
			map[string]any{"count": n, "limit": s.opts.RevealLimit, "window": s.opts.RevealLimitWindow.String()})
		if err != nil {
			return err
		}
	}
	return ErrRevealRate
}

// Photo returns one side's photo, decrypted, for a reviewer who revealed
// the case within the reveal window: photos are personal data too, and
// their viewing is covered by that audited reveal.
func (s *Service) Photo(ctx context.Context, vid, adminID int64, side string) ([]byte, error) {
	v, err := s.load(ctx, s.reads, vid)
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
	v, err := s.load(ctx, s.reads, vid)
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
	err := s.reads.WithContext(ctx).
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
