package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// Step-up states.
const (
	StepUpPending = "pending"
	StepUpPassed  = "passed"
	StepUpFailed  = "failed"
	StepUpExpired = "expired"
)

// ErrNoStepUp is an unknown step-up (or one of another app or user).
var ErrNoStepUp = errors.New("store: no such step-up")

// NewStepUpID is a step-up's public id: "stp_" and 128 random bits.
func NewStepUpID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "stp_" + hex.EncodeToString(b)
}

// AddStepUp writes a new step-up, in ctx's transaction (the step on its
// verification that audits it).
func (s *Store) AddStepUp(ctx context.Context, su *model.StepUp) error {
	if su.CreatedAt.IsZero() {
		su.CreatedAt = s.clk.Now()
	}
	if err := s.conn(ctx).Create(su).Error; err != nil {
		return fmt.Errorf("store: add step-up: %w", err)
	}
	return nil
}

// StepUp reads a step-up by its public id, or ErrNoStepUp.
func (s *Store) StepUp(ctx context.Context, publicID string) (model.StepUp, error) {
	var su model.StepUp
	err := s.conn(ctx).Where("public_id = ?", publicID).Take(&su).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return su, ErrNoStepUp
	}
	if err != nil {
		return su, fmt.Errorf("store: step-up: %w", err)
	}
	return su, nil
}

// SettleStepUp ends a pending step-up with state and reason, in ctx's
// transaction; false when it was no longer pending (another call ended it).
func (s *Store) SettleStepUp(ctx context.Context, id int64, state, reason string, at time.Time) (bool, error) {
	res := s.conn(ctx).Model(&model.StepUp{}).Where("id = ? AND state = ?", id, StepUpPending).
		Select("state", "reason", "completed_at").UpdateColumns(&model.StepUp{State: state, Reason: reason, CompletedAt: &at})
	if res.Error != nil {
		return false, fmt.Errorf("store: settle step-up: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// LatestStepUpFaceCheck is the newest face check of step-up id, or
// ErrNotFound.
func (s *Store) LatestStepUpFaceCheck(ctx context.Context, id int64) (model.FaceCheck, error) {
	var fc model.FaceCheck
	err := s.conn(ctx).Where("step_up_id = ?", id).Order("id DESC").Take(&fc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fc, ErrNotFound
	}
	if err != nil {
		return fc, fmt.Errorf("store: face check: %w", err)
	}
	return fc, nil
}

// eraseStepUps deletes the step-ups of erased verifications and their
// face checks.
func eraseStepUps(tx *gorm.DB, vids []int64) error {
	sub := tx.Model(&model.StepUp{}).Select("id").Where("verification_id IN ?", vids)
	if err := tx.Where("step_up_id IN (?)", sub).Delete(&model.FaceCheck{}).Error; err != nil {
		return fmt.Errorf("store: erase step-up face checks: %w", err)
	}
	if err := tx.Where("verification_id IN ?", vids).Delete(&model.StepUp{}).Error; err != nil {
		return fmt.Errorf("store: erase step-ups: %w", err)
	}
	return nil
}
