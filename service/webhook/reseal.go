package webhook

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/webhook/internal/whstore"
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
	n, err := whstore.New(db).Reseal(ctx, func(e *model.WebhookEndpoint) (cur, prev []byte, err error) {
		if cur, err = reseal(ring, e.SecretEnc, secretAAD(e.ID)); err != nil {
			return nil, nil, fmt.Errorf("endpoint %d secret_enc: %w", e.ID, err)
		}
		if prev, err = reseal(ring, e.PrevSecretEnc, prevSecretAAD(e.ID)); err != nil {
			return nil, nil, fmt.Errorf("endpoint %d prev_secret_enc: %w", e.ID, err)
		}
		return cur, prev, nil
	})
	if err != nil {
		return n, fmt.Errorf("webhook: reseal secrets: %w", err)
	}
	return n, nil
}

// reseal re-encrypts ct under the ring's primary key, or returns nil when
// it is empty or already sealed with it.
func reseal(ring Resealer, ct, aad []byte) ([]byte, error) {
	if len(ct) == 0 || !ring.NeedsRotation(ct) {
		return nil, nil
	}
	plain, err := ring.Decrypt(ct, aad)
	if err != nil {
		return nil, err
	}
	return ring.Encrypt(plain, aad)
}
