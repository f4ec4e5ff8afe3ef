package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
)

// The read model: what other packages need to know of the store's tables
// inside a step (so the answer is the one the step's transaction sees) or
// without the rows themselves. These only read; the pages' and dashboards'
// own queries (service/review) read through their own handle.

// HasAttempt reports whether verification vid made a provider call of kind
// (ocr, idcheck) that ended in outcome, in ctx's transaction when there is
// one.
func (s *Store) HasAttempt(ctx context.Context, vid int64, kind, outcome string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&model.ProviderAttempt{}).
		Where("verification_id = ? AND kind = ? AND outcome = ?", vid, kind, outcome).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: attempts: %w", err)
	}
	return n > 0, nil
}

// LastEventSince returns the newest event of type typ in vid's chain
// written since the verification last entered state entered (a first
// approval since the case came to review), or the zero event when there
// is none.
func (s *Store) LastEventSince(ctx context.Context, vid int64, typ string, entered State) (model.VerificationEvent, error) {
	var in, out model.VerificationEvent
	err := s.conn(ctx).Where("verification_id = ? AND to_state = ? AND from_state <> ?", vid, entered, entered).
		Order("id DESC").Limit(1).Find(&in).Error
	if err != nil {
		return out, fmt.Errorf("store: events: %w", err)
	}
	err = s.conn(ctx).Where("verification_id = ? AND type = ? AND id > ?", vid, typ, in.ID).
		Order("id DESC").Limit(1).Find(&out).Error
	if err != nil {
		return out, fmt.Errorf("store: events: %w", err)
	}
	return out, nil
}

// UserByOpenID returns app's user with openid, or ErrNotFound.
func (s *Store) UserByOpenID(ctx context.Context, app, openID string) (model.User, error) {
	var u model.User
	return u, found(s.conn(ctx).Where("app_id = ? AND open_id = ?", app, openID).Take(&u).Error, "user")
}

// UserByUnionID returns the user with unionid (within app when app is not
// ""): of several (one per app), the one whose verification changed last.
// ErrNotFound when there is none.
func (s *Store) UserByUnionID(ctx context.Context, unionID, app string) (model.User, error) {
	var u model.User
	q := s.conn(ctx).Where("union_id = ?", unionID)
	if app != "" {
		q = q.Where("app_id = ?", app)
	}
	err := q.Order("COALESCE((SELECT MAX(v.id) FROM verifications v WHERE v.user_id = users.id), 0) DESC").Limit(1).Take(&u).Error
	return u, found(err, "user")
}

// found maps a read's error: no row is ErrNotFound.
func found(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}
