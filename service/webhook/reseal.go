package webhook

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
)

// Resealer is the key ring as a key rotation uses it.
type Resealer interface {
	Sealer
	NeedsRotation(ciphertext []byte) bool
}

// ResealSecrets re-encrypts endpoint secrets (current and previous) that
// are not sealed with the ring's primary key, so `realname keys rotate`
// can retire the old key without cutting off the receivers. It returns how
// many endpoints it rewrote. Endpoints are few: one transaction each.
func ResealSecrets(ctx context.Context, db *gorm.DB, ring Resealer) (int, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&model.WebhookEndpoint{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("webhook: reseal secrets: %w", err)
	}
	n := 0
	for _, id := range ids {
		changed := false
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var e model.WebhookEndpoint
			if err := tx.Where("id = ?", id).Take(&e).Error; err != nil {
				return err
			}
			set := map[string]any{}
			for col, c := range map[string]struct {
				ct  []byte
				aad []byte
			}{
				"secret_enc":      {e.SecretEnc, secretAAD(id)},
				"prev_secret_enc": {e.PrevSecretEnc, prevSecretAAD(id)},
			} {
				if len(c.ct) == 0 || !ring.NeedsRotation(c.ct) {
					continue
				}
				plain, err := ring.Decrypt(c.ct, c.aad)
				if err != nil {
					return fmt.Errorf("endpoint %d %s: %w", id, col, err)
				}
				if set[col], err = ring.Encrypt(plain, c.aad); err != nil {
					return err
				}
			}
			if len(set) == 0 {
				return nil
			}
			changed = true
			return tx.Model(&model.WebhookEndpoint{}).Where("id = ?", id).Updates(set).Error
		})
		if err != nil {
			return n, fmt.Errorf("webhook: reseal secrets: %w", err)
		}
		if changed {
			n++
		}
	}
	return n, nil
}
