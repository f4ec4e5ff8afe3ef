package store

import (
	"context"
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
// user's row is locked first and the latest looked up again under that
// lock, so two first uploads at once (front and back in parallel) share
// one verification instead of each opening its own.
//
// known is the latest verification as the caller read it before (nil: it
// found none). When it is still the latest and was final then, it is final
// now (final states only move to erased, which the user row tells), so it
// is not read again.
func (s *Store) Open(ctx context.Context, userID int64, mode, consent, actor string, known *model.Verification, reuse Opening) (model.Verification, error) {
	var out model.Verification
	err := s.InTx(ctx, func(ctx context.Context) error {
		var users []struct {
			model.User `gorm:"embedded"`
			LatestID   *int64
		}
		q := s.conn(ctx).Model(&model.User{}).Select("id", "app_id", "open_id", "union_id", "erased_at",
			"(SELECT MAX(v.id) FROM verifications v WHERE v.user_id = users.id) AS latest_id").Where("id = ?", userID)
		if err := locking(q).Scan(&users).Error; err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		if len(users) == 0 {
			return fmt.Errorf("store: user %d: %w", userID, ErrNotFound)
		}
		u := users[0]
		state(ctx).users[userID] = identity{AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID}
		var latest *model.Verification
		switch {
		case u.LatestID == nil:
		case known != nil && known.ID == *u.LatestID && Terminal(known.State):
			latest = known
		default:
			v, err := s.Latest(ctx, userID)
			if err != nil {
				return err
			}
			latest = &v.Verification
		}
		keep, err := reuse(u.User, latest)
		if err != nil {
			return err
		}
		if keep != nil {
			out = *keep
			return nil
		}
		now := s.clk.Now()
		nv := model.Verification{UserID: userID, State: Draft, Version: 1, Mode: mode, ConsentVersion: consent,
			CreatedAt: now, UpdatedAt: now}
		e, err := s.newEvent(0, "created", actor, map[string]any{"mode": mode, "consent_version": consent}, "", Draft, "", now)
		if err != nil {
			return err
		}
		if err := s.conn(ctx).Create(&nv).Error; err != nil {
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
	return s.recordConsent(ctx, userID, ConsentCard, version)
}

// Kinds of consent: the card's data, and the face check's (biometric
// processing needs its own, PIPL art. 28–29).
const (
	ConsentCard = "idcard"
	ConsentFace = "face"
)

// RecordFaceConsent stores that the user agreed to version of the face
// check's notice.
func (s *Store) RecordFaceConsent(ctx context.Context, userID int64, version string) error {
	return s.recordConsent(ctx, userID, ConsentFace, version)
}

func (s *Store) recordConsent(ctx context.Context, userID int64, kind, version string) error {
	if err := s.conn(ctx).Create(&model.Consent{UserID: userID, Kind: kind, Version: version, AgreedAt: s.clk.Now()}).Error; err != nil {
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
	if err := s.conn(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: record attempts: %w", err)
	}
	return nil
}

// HasConsent reports whether the user agreed to the notice version.
func (s *Store) HasConsent(ctx context.Context, userID int64, version string) (bool, error) {
	return s.hasConsent(ctx, userID, ConsentCard, version)
}

// HasFaceConsent reports whether the user agreed to version of the face
// check's notice.
func (s *Store) HasFaceConsent(ctx context.Context, userID int64, version string) (bool, error) {
	return s.hasConsent(ctx, userID, ConsentFace, version)
}

func (s *Store) hasConsent(ctx context.Context, userID int64, kind, version string) (bool, error) {
	var n int64
	if err := s.conn(ctx).Model(&model.Consent{}).Where("user_id = ? AND kind = ? AND version = ?", userID, kind, version).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: consent: %w", err)
	}
	return n > 0, nil
}
