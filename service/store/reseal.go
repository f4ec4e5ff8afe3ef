package store

import (
	"bytes"
	"context"
	"fmt"

	"realname/model"
)

// Reseal rewrites verification vid's sealed columns (model's Sealed list)
// and the ID number's lookup hash as reseal computes them: reseal gets a
// copy of the row read under its lock and rewrites those fields in place;
// what differs from the row is written, and the ID bindings follow a new
// lookup hash. It reports whether anything changed and how many bindings
// moved. Neither the version nor updated_at moves: the case is the same.
func (s *Store) Reseal(ctx context.Context, vid int64, reseal func(v *model.Verification) error) (changed bool, bindings int, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		changed, bindings = false, 0
		v, err := s.lock(ctx, vid)
		if err != nil {
			return err
		}
		next := v
		for _, col := range next.Sealed() {
			*col.Value = bytes.Clone(*col.Value) // reseal may rewrite them in place
		}
		if err := reseal(&next); err != nil {
			return err
		}
		var cols []string
		was := v.Sealed()
		for i, col := range next.Sealed() {
			if !bytes.Equal(*col.Value, *was[i].Value) {
				cols = append(cols, col.Name)
			}
		}
		if next.IDNumberHash != nil && !bytes.Equal(next.IDNumberHash, v.IDNumberHash) {
			cols = append(cols, "id_number_hash")
			res := s.conn(ctx).Model(&model.IDBinding{}).Where("verification_id = ?", vid).UpdateColumn("id_number_hash", next.IDNumberHash)
			if res.Error != nil {
				return fmt.Errorf("store: reseal bindings: %w", res.Error)
			}
			bindings = int(res.RowsAffected)
		}
		if len(cols) == 0 {
			return nil
		}
		if err := s.conn(ctx).Model(&model.Verification{}).Where("id = ?", vid).Select(cols).UpdateColumns(&next).Error; err != nil {
			return fmt.Errorf("store: reseal: %w", err)
		}
		delete(state(ctx).rows, vid)
		changed = true
		return nil
	})
	return changed, bindings, err
}

// ResealAttempts writes provider attempts' readings re-encrypted, each
// only while the row still holds the reading rotation read (an erasure
// that wiped it since wins), in one transaction, and returns the ids
// whose value had changed.
func (s *Store) ResealAttempts(ctx context.Context, rs []Resealing) (stale []int64, err error) {
	return s.compareAndSet(ctx, &model.ProviderAttempt{}, "fields_enc", rs)
}

// ResealTexts writes notes re-encrypted under the primary key, each only
// while it still holds what rotation read: an erasure that deleted it
// first wins (the update then touches nothing). It returns the ids not
// written.
func (s *Store) ResealTexts(ctx context.Context, rs []Resealing) (stale []int64, err error) {
	return s.compareAndSet(ctx, &model.EventText{}, "text_enc", rs)
}
