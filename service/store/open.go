package store

import (
	"context"
	"errors"
	"fmt"

	"realname/model"
)

// Opening decides, from the user (read under its lock: id and erased_at)
// and their latest verification (nil when there is none), whether that one
// is reused (return it) or a new one is opened (return nil), or the user
// may not start one (an error).
type Opening func(user model.User, latest *model.Verification) (*model.Verification, error)

// Open returns the user's verification to work on: the latest one when
// reuse says so, else a new draft of mode with its "created" event. The
// user's row is locked first and the latest read again under that lock,
// so two first uploads at once (front and back in parallel) share one
// verification instead of each opening its own.
func (s *Store) Open(ctx context.Context, userID int64, mode, consent, actor string, reuse Opening) (model.Verification, error) {
	var out model.Verification
	err := s.InTx(ctx, func(ctx context.Context) error {
		var users []model.User
		if err := locking(s.Conn(ctx).Select("id", "app_id", "open_id", "union_id", "erased_at").Where("id = ?", userID)).Find(&users).Error; err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		if len(users) == 0 {
			return fmt.Errorf("store: user %d: %w", userID, ErrNotFound)
		}
		state(ctx).users[userID] = identity{AppID: users[0].AppID, OpenID: users[0].OpenID, UnionID: users[0].UnionID}
		var latest *model.Verification
		v, err := s.Latest(ctx, userID)
		switch {
		case err == nil:
			latest = &v
		case !errors.Is(err, ErrNotFound):
			return err
		}
		keep, err := reuse(users[0], latest)
		if err != nil {
			return err
		}
		if keep != nil {
			out = *keep
			return nil
		}
		now := s.clk.Now()
		nv := model.Verification{UserID: userID, State: string(Draft), Version: 1, Mode: mode, ConsentVersion: consent,
			CreatedAt: now, UpdatedAt: now}
		e, err := s.newEvent(0, "created", actor, map[string]any{"mode": mode, "consent_version": consent}, "", Draft, "", now)
		if err != nil {
			return err
		}
		if err := s.Conn(ctx).Create(&nv).Error; err != nil {
			return fmt.Errorf("store: create verification: %w", err)
		}
		// The event hashes its verification's id, known only now. It is
		// written with the row's next change in this transaction, or at
		// commit (txState.flush).
		vid := nv.ID
		e.VerificationID = &vid
		e.Hash = EventHash(e)
		nv.ChainHead = e.Hash
		t := state(ctx)
		t.pending[vid] = []model.VerificationEvent{e}
		t.rows[vid] = nv
		out = nv
		return nil
	})
	return out, err
}

// RecordConsent stores that the user agreed to a notice version.
func (s *Store) RecordConsent(ctx context.Context, userID int64, version string) error {
	if err := s.Conn(ctx).Create(&model.Consent{UserID: userID, Version: version, AgreedAt: s.clk.Now()}).Error; err != nil {
		return fmt.Errorf("store: record consent: %w", err)
	}
	return nil
}

// RecordAttempts stores provider calls (OCR or name/ID check), in the
// caller's transaction when there is one.
func (s *Store) RecordAttempts(ctx context.Context, rows []model.ProviderAttempt) error {
	if len(rows) == 0 {
		return nil
	}
	now := s.clk.Now()
	for i := range rows {
		if rows[i].CreatedAt.IsZero() {
			rows[i].CreatedAt = now
		}
	}
	if err := s.Conn(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: record attempts: %w", err)
	}
	return nil
}

// HasConsent reports whether the user agreed to the notice version.
func (s *Store) HasConsent(ctx context.Context, userID int64, version string) (bool, error) {
	var n int64
	if err := s.Conn(ctx).Model(&model.Consent{}).Where("user_id = ? AND version = ?", userID, version).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: consent: %w", err)
	}
	return n > 0, nil
}
