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
	// One statement takes a free slot; only when it took none are the
	// number's bindings read, to tell why. Not on MySQL: there the
	// INSERT … SELECT locks the number's bindings and the gaps between
	// them, and two verifications of one number deadlock.
	if s.conn(ctx).Name() != model.DialectMySQL {
		taken, err := s.bindFree(ctx, v, hash, slots)
		if err != nil || taken {
			return taken, err
		}
	} else if slots == 1 {
		// One account per number (the default): take the slot outright; a
		// conflict means it is held, by this account (re-verifying) or
		// another, which the read below tells. IGNORE, because MySQL
		// reports ON DUPLICATE KEY UPDATE id=id as a changed row.
		res := s.conn(ctx).Clauses(clause.Insert{Modifier: "IGNORE"}).Create(&model.IDBinding{IDNumberHash: hash, Slot: 0,
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

// bindFree takes the lowest free slot below slots for v's account, in one
// statement, when the account holds no slot of hash (PostgreSQL, SQLite). It reports false
// when it took none: the account holds one, every slot is held, or
// another verification took the slot at the same moment.
func (s *Store) bindFree(ctx context.Context, v *model.Verification, hash []byte, slots int) (bool, error) {
	db := s.conn(ctx)
	res := db.Exec(`INSERT INTO id_bindings (id_number_hash, slot, user_id, verification_id, created_at)
SELECT ?, f.slot, ?, ?, ? FROM (SELECT CASE
	WHEN NOT EXISTS (SELECT 1 FROM id_bindings WHERE id_number_hash = ? AND slot = 0) THEN 0
	ELSE (SELECT MIN(b.slot) + 1 FROM id_bindings b WHERE b.id_number_hash = ? AND NOT EXISTS
		(SELECT 1 FROM id_bindings n WHERE n.id_number_hash = b.id_number_hash AND n.slot = b.slot + 1))
	END AS slot) f
WHERE f.slot < ? AND NOT EXISTS (SELECT 1 FROM id_bindings WHERE id_number_hash = ? AND user_id = ?)
ON CONFLICT DO NOTHING`,
		hash, v.UserID, v.ID, s.clk.Now(), hash, hash, slots, hash, v.UserID)
	if res.Error != nil {
		return false, fmt.Errorf("store: bind: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
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
