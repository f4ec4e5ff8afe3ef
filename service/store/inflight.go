package store

import (
	"context"
	"fmt"

	"realname/model"
)

// A name/ID check that is about to be asked leaves no attempt row of its
// own: the step to checking (or a rescue's check_rerun event), committed
// before the vendors are called, is the record that a paid call may
// follow, and the attempts are written with the decision. A case a crash
// left in checking gets an interrupted attempt from the rescue.

// AttemptInFlight is the outcome earlier versions wrote before the vendors
// were asked; a rescue still turns such a row into an interrupted one.
const AttemptInFlight = "in_flight"

// AttemptInterrupted is a check attempt whose process died: a paid call
// may or may not have reached the vendor.
const AttemptInterrupted = "interrupted"

// InterruptAttempts records, in ctx's transaction, that vid's check was
// cut short: its in-flight row from an earlier version becomes
// interrupted, or an interrupted attempt is added.
func (s *Store) InterruptAttempts(ctx context.Context, vid int64) error {
	res := s.conn(ctx).Model(&model.ProviderAttempt{}).Where("verification_id = ? AND kind = ? AND outcome = ?", vid, "idcheck", AttemptInFlight).
		UpdateColumn("outcome", AttemptInterrupted)
	if res.Error != nil {
		return fmt.Errorf("store: interrupt attempts: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return s.RecordAttempts(ctx, []model.ProviderAttempt{{VerificationID: vid, Kind: "idcheck", Provider: "unknown", Outcome: AttemptInterrupted}})
}

// HasEvent reports whether vid's chain holds an event of type typ.
func (s *Store) HasEvent(ctx context.Context, vid int64, typ string) (bool, error) {
	var n int64
	if err := s.conn(ctx).Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", vid, typ).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: events: %w", err)
	}
	return n > 0, nil
}
