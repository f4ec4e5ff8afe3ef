package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// Bind takes a free slot among slots for the ID number hash on v's account.
// It reports true when the account already holds one (re-verifying), false
// when every slot belongs to other accounts, and ErrSlotTaken when another
// verification took the chosen slot at the same moment (retry: a new
// transaction sees the winner).
func (s *Store) Bind(ctx context.Context, v *model.Verification, hash []byte, slots int) (bool, error) {
	if slots == 1 {
		// One account per number (the default): take the slot outright; a
		// conflict means it is held, by this account (re-verifying) or
		// another, which the read below tells.
		q := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true})
		if q.Name() == model.DialectMySQL {
			// gorm writes DoNothing as ON DUPLICATE KEY UPDATE id=id, which
			// MySQL reports as a changed row; IGNORE reports none.
			q = s.conn(ctx).Clauses(clause.Insert{Modifier: "IGNORE"})
		}
		res := q.Create(&model.IDBinding{IDNumberHash: hash, Slot: 0,
			UserID: v.UserID, VerificationID: v.ID, CreatedAt: s.clk.Now()})
		if res.Error != nil {
			return false, fmt.Errorf("store: bind: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return true, nil
		}
	}
	var rows []model.IDBinding
	if err := s.conn(ctx).Where("id_number_hash = ?", hash).Find(&rows).Error; err != nil {
		return false, fmt.Errorf("store: bindings: %w", err)
	}
	used := map[int]bool{}
	for _, b := range rows {
		if b.UserID == v.UserID {
			return true, nil
		}
		used[b.Slot] = true
	}
	for slot := range slots {
		if used[slot] {
			continue
		}
		return true, s.insertBinding(ctx, v, hash, slot)
	}
	return false, nil
}

// BindBeyond records the binding of a case staff approved. Staff may
// approve a number already bound to other accounts (a family sharing a
// phone, a re-registered account), so the slot goes past the policy's
// count instead of being refused.
func (s *Store) BindBeyond(ctx context.Context, v *model.Verification) error {
	var rows []model.IDBinding
	if err := s.conn(ctx).Where("id_number_hash = ?", v.IDNumberHash).Find(&rows).Error; err != nil {
		return fmt.Errorf("store: bindings: %w", err)
	}
	next := 0
	for _, b := range rows {
		if b.UserID == v.UserID {
			return nil
		}
		next = max(next, b.Slot+1)
	}
	return s.insertBinding(ctx, v, v.IDNumberHash, next)
}

func (s *Store) insertBinding(ctx context.Context, v *model.Verification, hash []byte, slot int) error {
	err := s.conn(ctx).Create(&model.IDBinding{IDNumberHash: hash, Slot: slot, UserID: v.UserID, VerificationID: v.ID,
		CreatedAt: s.clk.Now()}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrSlotTaken
	}
	if err != nil {
		return fmt.Errorf("store: bind: %w", err)
	}
	return nil
}

// Unbind releases the ID binding v holds, in the caller's transaction: the
// number may then be verified on another account (a revoked verification
// holds no number).
func (s *Store) Unbind(ctx context.Context, v *model.Verification) error {
	if err := s.conn(ctx).Where("verification_id = ?", v.ID).Delete(&model.IDBinding{}).Error; err != nil {
		return fmt.Errorf("store: unbind: %w", err)
	}
	return nil
}
