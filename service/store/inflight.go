package store

import (
	"context"
	"fmt"

	"realname/model"
)

// AttemptInFlight is the outcome of a name/ID check attempt recorded
// before the vendors are asked: if the process dies during the call, the
// row shows that a paid call may have been made. SettleAttempts replaces
// it with what the vendors answered.
const AttemptInFlight = "in_flight"

// StartCheck records, in ctx's transaction (the step to checking), that a
// name/ID check of vid is about to be asked.
func (s *Store) StartCheck(ctx context.Context, vid int64) error {
	return s.RecordAttempts(ctx, []model.ProviderAttempt{{VerificationID: vid, Kind: "idcheck", Provider: "pending", Outcome: AttemptInFlight}})
}

// SettleAttempts replaces vid's in-flight check attempt with the attempts
// the check made (none for a decision taken locally).
func (s *Store) SettleAttempts(ctx context.Context, vid int64, rows []model.ProviderAttempt) error {
	err := s.conn(ctx).Where("verification_id = ? AND kind = ? AND outcome = ?", vid, "idcheck", AttemptInFlight).
		Delete(&model.ProviderAttempt{}).Error
	if err != nil {
		return fmt.Errorf("store: settle attempts: %w", err)
	}
	return s.RecordAttempts(ctx, rows)
}

// AttemptInterrupted is an in-flight attempt whose process died: a paid
// call may or may not have reached the vendor.
const AttemptInterrupted = "interrupted"

// InterruptAttempts marks vid's in-flight check attempts as interrupted,
// in ctx's transaction, so a rescue's own attempts do not replace them.
func (s *Store) InterruptAttempts(ctx context.Context, vid int64) error {
	err := s.conn(ctx).Model(&model.ProviderAttempt{}).Where("verification_id = ? AND kind = ? AND outcome = ?", vid, "idcheck", AttemptInFlight).
		UpdateColumn("outcome", AttemptInterrupted).Error
	if err != nil {
		return fmt.Errorf("store: interrupt attempts: %w", err)
	}
	return nil
}

// HasEvent reports whether vid's chain holds an event of type typ.
func (s *Store) HasEvent(ctx context.Context, vid int64, typ string) (bool, error) {
	var n int64
	if err := s.conn(ctx).Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", vid, typ).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: events: %w", err)
	}
	return n > 0, nil
}
