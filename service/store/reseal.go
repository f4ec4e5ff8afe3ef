package store

import (
	"bytes"
	"context"
	"fmt"

	"realname/model"
)

// Resealed is what key rotation rewrites of one verification: sealed
// columns under the new key (nil: unchanged) and the ID number's lookup
// hash under the new hash key.
type Resealed struct {
	NameEnc, IDNumberEnc, FieldsEnc, CorrectionsEnc []byte
	IDNumberHash                                    []byte
}

// Reseal rewrites verification vid's sealed columns as reseal computes
// them from the row under its lock, and moves its ID bindings to a new
// lookup hash. It reports whether anything changed and how many bindings
// moved. Neither the version nor updated_at moves: the case is the same.
func (s *Store) Reseal(ctx context.Context, vid int64, reseal func(v model.Verification) (Resealed, error)) (changed bool, bindings int, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		changed, bindings = false, 0
		v, err := s.lock(ctx, vid)
		if err != nil {
			return err
		}
		r, err := reseal(v)
		if err != nil {
			return err
		}
		cols := map[string]any{}
		for col, b := range map[string][]byte{"name_enc": r.NameEnc, "id_number_enc": r.IDNumberEnc,
			"fields_enc": r.FieldsEnc, "corrections_enc": r.CorrectionsEnc} {
			if b != nil {
				cols[col] = b
			}
		}
		if r.IDNumberHash != nil && !bytes.Equal(r.IDNumberHash, v.IDNumberHash) {
			cols["id_number_hash"] = r.IDNumberHash
			res := s.Conn(ctx).Model(&model.IDBinding{}).Where("verification_id = ?", vid).UpdateColumn("id_number_hash", r.IDNumberHash)
			if res.Error != nil {
				return fmt.Errorf("store: reseal bindings: %w", res.Error)
			}
			bindings = int(res.RowsAffected)
		}
		if len(cols) == 0 {
			return nil
		}
		if err := s.Conn(ctx).Model(&model.Verification{}).Where("id = ?", vid).UpdateColumns(cols).Error; err != nil {
			return fmt.Errorf("store: reseal: %w", err)
		}
		delete(state(ctx).rows, vid)
		changed = true
		return nil
	})
	return changed, bindings, err
}

// ResealAttempt rewrites one provider attempt's sealed reading.
func (s *Store) ResealAttempt(ctx context.Context, id int64, sealed []byte) error {
	if err := s.Conn(ctx).Model(&model.ProviderAttempt{}).Where("id = ?", id).UpdateColumn("fields_enc", sealed).Error; err != nil {
		return fmt.Errorf("store: reseal attempt: %w", err)
	}
	return nil
}

// ResealText writes a note re-encrypted under the primary key. An erasure
// that deleted it first wins: the update then touches nothing.
func (s *Store) ResealText(ctx context.Context, id int64, sealed []byte) error {
	if err := s.Conn(ctx).Model(&model.EventText{}).Where("id = ?", id).UpdateColumn("text_enc", sealed).Error; err != nil {
		return fmt.Errorf("store: reseal text: %w", err)
	}
	return nil
}
