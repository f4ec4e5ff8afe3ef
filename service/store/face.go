package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
)

// AddFaceCheck records a verify_id issued for verification vid, in ctx's
// transaction (the step that audits it).
func (s *Store) AddFaceCheck(ctx context.Context, fc *model.FaceCheck) error {
	if fc.CreatedAt.IsZero() {
		fc.CreatedAt = s.clk.Now()
	}
	if err := s.conn(ctx).Create(fc).Error; err != nil {
		return fmt.Errorf("store: add face check: %w", err)
	}
	return nil
}

// LatestFaceCheck is the newest face check of verification vid, or
// ErrNotFound.
func (s *Store) LatestFaceCheck(ctx context.Context, vid int64) (model.FaceCheck, error) {
	var fc model.FaceCheck
	err := s.conn(ctx).Where("verification_id = ?", vid).Order("id DESC").Take(&fc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fc, ErrNotFound
	}
	if err != nil {
		return fc, fmt.Errorf("store: face check: %w", err)
	}
	return fc, nil
}

// SettleFaceCheck writes what came of face check id, in ctx's transaction:
// the provider's code and our outcome. A check already settled keeps its
// first outcome (two result calls at once record one).
func (s *Store) SettleFaceCheck(ctx context.Context, id int64, ret *int, outcome string) error {
	now := s.clk.Now()
	err := s.conn(ctx).Model(&model.FaceCheck{}).Where("id = ? AND outcome = ''", id).
		Select("verify_ret", "outcome", "decided_at").UpdateColumns(&model.FaceCheck{VerifyRet: ret, Outcome: outcome, DecidedAt: &now}).Error
	if err != nil {
		return fmt.Errorf("store: settle face check: %w", err)
	}
	return nil
}

// eraseFaceChecks deletes the face checks of erased verifications: the
// serial numbers and verdicts tie a person to a biometric check.
func eraseFaceChecks(tx *gorm.DB, vids []int64) error {
	if err := tx.Where("verification_id IN ?", vids).Delete(&model.FaceCheck{}).Error; err != nil {
		return fmt.Errorf("store: erase face checks: %w", err)
	}
	return nil
}

// OpenID is the openid of user userID: a face check is run by that
// WeChat user, and the provider checks it is theirs.
func (s *Store) OpenID(ctx context.Context, userID int64) (string, error) {
	var u model.User
	err := s.conn(ctx).Select("id", "open_id").Take(&u, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", fmt.Errorf("store: user %d: %w", userID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: user: %w", err)
	}
	return u.OpenID, nil
}
