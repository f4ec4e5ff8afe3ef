package whstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
)

// EraseAnswers blanks what receivers answered to the events of these
// verifications, in tx, the erasing caller's transaction, so erasure stays
// all-or-nothing.
func EraseAnswers(ctx context.Context, tx *gorm.DB, verificationIDs []int64) error {
	if len(verificationIDs) == 0 {
		return nil
	}
	deliveries := tx.Model(&model.WebhookDelivery{}).Select("webhook_deliveries.id").
		Joins("JOIN webhook_events ON webhook_events.id = webhook_deliveries.event_id").
		Where("webhook_events.verification_id IN ?", verificationIDs)
	err := tx.WithContext(ctx).Model(&model.WebhookAttempt{}).Where("delivery_id IN (?) AND response <> ''", deliveries).
		Update("response", "").Error
	if err != nil {
		return fmt.Errorf("webhook: erase attempt answers: %w", err)
	}
	return nil
}

// EraseAnswers is the package's EraseAnswers on the store's database.
func (st *Store) EraseAnswers(ctx context.Context, verificationIDs []int64) error {
	return EraseAnswers(ctx, st.db, verificationIDs)
}
