package store

import (
	"context"
	"fmt"
	"time"

	"realname/model"
)

// Idle lists up to limit verifications waiting on their user (photos, a
// face check) whose last change is older than before, oldest first.
func (s *Store) Idle(ctx context.Context, before time.Time, limit int) ([]model.Verification, error) {
	var out []model.Verification
	err := s.conn(ctx).Where("state IN ? AND updated_at < ?", []string{string(Draft), string(Recognized), string(FacePending)}, before).
		Order("updated_at").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: idle verifications: %w", err)
	}
	return out, nil
}

// Stuck lists up to limit verifications in checking since before: a
// check interrupted by a crash.
func (s *Store) Stuck(ctx context.Context, before time.Time, limit int) ([]model.Verification, error) {
	var out []model.Verification
	err := s.conn(ctx).Where("state = ? AND updated_at < ?", string(Checking), before).Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: stuck verifications: %w", err)
	}
	return out, nil
}

// PhotosDue lists up to limit verifications whose photos are past
// retention: finished (verified, rejected, expired) before cutoff. A case
// in review is not finished and keeps its photos however long it waits.
// The candidates are read by ix_verifications_photos (photos_deleted_at,
// updated_at): a finished verification's updated_at is its decision.
func (s *Store) PhotosDue(ctx context.Context, cutoff time.Time, limit int) ([]model.Verification, error) {
	var out []model.Verification
	err := s.conn(ctx).Select("id", "state", "decided_at", "front_blob", "back_blob").
		Where("photos_deleted_at IS NULL AND updated_at < ?", cutoff).
		Where("state IN ?", []string{string(Verified), string(Rejected), string(Expired)}).
		// Expiries written before expiry set decided_at have none.
		Where("decided_at < ? OR (decided_at IS NULL AND state = ?)", cutoff, string(Expired)).
		Order("updated_at").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: photos due: %w", err)
	}
	return out, nil
}

// PhotosDeleted records that v's photos (as PhotosDue read them) are gone.
// The row is changed only while it still names those photos.
func (s *Store) PhotosDeleted(ctx context.Context, v model.Verification) error {
	err := s.conn(ctx).Model(&model.Verification{}).
		Where("id = ? AND front_blob = ? AND back_blob = ?", v.ID, v.FrontBlob, v.BackBlob).
		Select("front_blob", "back_blob", "photos_deleted_at").UpdateColumns(&model.Verification{PhotosDeletedAt: Ptr(s.clk.Now())}).Error
	if err != nil {
		return fmt.Errorf("store: photos deleted: %w", err)
	}
	return nil
}
