package webhook

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
)

// Erase blanks what receivers answered to the events of these
// verifications. The dispatcher stores no request bodies (it renders them
// from the outbox row, which verify's erasure rewrites), but a receiver may
// echo the body back, and its answer is kept. tx is the caller's
// transaction, so erasure stays all-or-nothing.
func Erase(ctx context.Context, tx *gorm.DB, verificationIDs []int64) error {
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

// Erase is the package function Erase on the service's database.
func (s *Service) Erase(ctx context.Context, verificationIDs []int64) error {
	return Erase(ctx, s.db, verificationIDs)
}
