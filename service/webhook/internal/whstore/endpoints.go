package whstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// ErrNotDisabled is Disable's answer when its condition (failing since
// before a time) no longer held: another worker did it, or a success came.
var ErrNotDisabled = errors.New("webhook: endpoint not disabled")

// EnabledEndpoints returns the enabled endpoints, secrets included.
func (st *Store) EnabledEndpoints(ctx context.Context) ([]model.WebhookEndpoint, error) {
	var rows []model.WebhookEndpoint
	if err := st.db.WithContext(ctx).Where("enabled = ?", true).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("webhook: load endpoints: %w", err)
	}
	return rows, nil
}

// Endpoints returns every endpoint, oldest first.
func (st *Store) Endpoints(ctx context.Context) ([]model.WebhookEndpoint, error) {
	var rows []model.WebhookEndpoint
	if err := st.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("webhook: endpoints: %w", err)
	}
	return rows, nil
}

// Endpoint returns one endpoint, or ErrNotFound.
func (st *Store) Endpoint(ctx context.Context, id int64) (model.WebhookEndpoint, error) {
	return st.direct(ctx).Endpoint(id)
}

// Endpoint returns one endpoint, or ErrNotFound.
func (tx *Tx) Endpoint(id int64) (model.WebhookEndpoint, error) {
	var e model.WebhookEndpoint
	err := tx.db.Where("id = ?", id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, fmt.Errorf("%w: endpoint %d", ErrNotFound, id)
	}
	if err != nil {
		return e, fmt.Errorf("webhook: endpoint %d: %w", id, err)
	}
	return e, nil
}

// ConfiguredEndpoint returns the endpoint configuration declared under
// key, and whether there is one.
func (st *Store) ConfiguredEndpoint(ctx context.Context, key string) (model.WebhookEndpoint, bool, error) {
	var e model.WebhookEndpoint
	err := st.db.WithContext(ctx).Where("config_key = ?", key).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("webhook: configured endpoint: %w", err)
	}
	return e, true, nil
}

// CreateEndpoint inserts e and seals its secret: seal gets the new row's
// id, which the sealing binds as associated data and which only exists
// after the insert, so insert, seal and update share one transaction. A
// second endpoint under e's ConfigKey is gorm.ErrDuplicatedKey.
func (st *Store) CreateEndpoint(ctx context.Context, e model.WebhookEndpoint, seal func(id int64) ([]byte, error)) (model.WebhookEndpoint, error) {
	e.SecretEnc = []byte{}
	err := st.Tx(ctx, func(tx *Tx) error {
		if err := tx.db.Create(&e).Error; err != nil {
			return err
		}
		sealed, err := seal(e.ID)
		if err != nil {
			return err
		}
		e.SecretEnc = sealed
		return tx.updateEndpoint(e.ID, model.WebhookEndpoint{SecretEnc: sealed}, "secret_enc")
	})
	return e, err
}

// updateEndpoint writes the named columns of endpoint id from v.
func (tx *Tx) updateEndpoint(id int64, v model.WebhookEndpoint, columns ...string) error {
	return tx.db.Model(&model.WebhookEndpoint{}).Where("id = ?", id).Select(columns).UpdateColumns(&v).Error
}

// SetAllowPrivate sets whether the endpoint may reach private addresses.
func (st *Store) SetAllowPrivate(ctx context.Context, id int64, allow bool, now time.Time) error {
	return st.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.Endpoint(id); err != nil {
			return err
		}
		return tx.updateEndpoint(id, model.WebhookEndpoint{AllowPrivate: allow, UpdatedAt: now}, "allow_private", "updated_at")
	})
}

// Reconfigure writes what the configuration declares of an endpoint.
func (st *Store) Reconfigure(ctx context.Context, id int64, url, eventTypes string, allowPrivate bool, now time.Time) error {
	return st.direct(ctx).updateEndpoint(id, model.WebhookEndpoint{URL: url, EventTypes: eventTypes, AllowPrivate: allowPrivate, UpdatedAt: now},
		"url", "event_types", "allow_private", "updated_at")
}

// Disable disables the endpoint and pauses its queued deliveries. With
// failingBefore it does so only while the endpoint is enabled and has been
// failing since before that time, and answers ErrNotDisabled otherwise.
func (st *Store) Disable(ctx context.Context, id int64, reason string, failingBefore *time.Time, now time.Time) error {
	return st.gatedTx(ctx, func(tx *Tx) error {
		q := tx.db.Model(&model.WebhookEndpoint{}).Where("id = ?", id)
		if failingBefore != nil {
			q = q.Where("enabled = ? AND failing_since <= ?", true, *failingBefore)
		}
		res := q.Select("enabled", "disabled_reason", "updated_at").
			UpdateColumns(&model.WebhookEndpoint{Enabled: false, DisabledReason: reason, UpdatedAt: now})
		if res.Error != nil {
			return fmt.Errorf("webhook: disable endpoint %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			if failingBefore != nil {
				return ErrNotDisabled
			}
			if _, err := tx.Endpoint(id); err != nil {
				return err
			}
		}
		_, err := tx.move(Pause, from(Pending), patch{at: now}, fence{endpointID: id})
		return err
	})
}

// Enable enables the endpoint, clears its failure streak and queues its
// paused deliveries, due now.
func (st *Store) Enable(ctx context.Context, id int64, now time.Time) error {
	return st.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.Endpoint(id); err != nil {
			return err
		}
		err := tx.updateEndpoint(id, model.WebhookEndpoint{Enabled: true, DisabledReason: "", FailingSince: nil, UpdatedAt: now},
			"enabled", "disabled_reason", "failing_since", "updated_at")
		if err != nil {
			return err
		}
		_, err = tx.move(Resume, from(Paused), patch{at: now, nextAttemptAt: &now}, fence{endpointID: id})
		return err
	})
}

// DeleteEndpoint removes the endpoint with its deliveries and their attempts.
func (st *Store) DeleteEndpoint(ctx context.Context, id int64) error {
	return st.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.Endpoint(id); err != nil {
			return err
		}
		sub := tx.db.Model(&model.WebhookDelivery{}).Select("id").Where("endpoint_id = ?", id)
		if err := tx.db.Where("delivery_id IN (?)", sub).Delete(&model.WebhookAttempt{}).Error; err != nil {
			return err
		}
		if err := tx.db.Where("endpoint_id = ?", id).Delete(&model.WebhookDelivery{}).Error; err != nil {
			return err
		}
		return tx.db.Where("id = ?", id).Delete(&model.WebhookEndpoint{}).Error
	})
}

// Secrets are an endpoint's sealed signing secrets: the current one, and
// the one before it while PrevUntil lasts.
type Secrets struct {
	Current, Prev []byte
	PrevUntil     *time.Time
}

// Rotate locks the endpoint, so two instances rotating at once cannot lose
// the old secret, and writes the secrets next returns for it, unless next
// reports no change. It reports whether it wrote.
func (st *Store) Rotate(ctx context.Context, id int64, now time.Time, next func(e *model.WebhookEndpoint) (Secrets, bool, error)) (bool, error) {
	changed := false
	err := st.Tx(ctx, func(tx *Tx) error {
		var e model.WebhookEndpoint
		err := tx.st.forUpdate(tx.db).Where("id = ?", id).Take(&e).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: endpoint %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		s, ok, err := next(&e)
		if err != nil || !ok {
			return err
		}
		changed = true
		return tx.updateEndpoint(id, model.WebhookEndpoint{SecretEnc: s.Current, PrevSecretEnc: s.Prev, PrevSecretUntil: s.PrevUntil,
			UpdatedAt: now}, "secret_enc", "prev_secret_enc", "prev_secret_until", "updated_at")
	})
	return changed, err
}

// Reseal rewrites every endpoint's sealed secrets as reseal returns them
// (nil: that one stays), one transaction per endpoint (they are few), and
// returns how many endpoints it rewrote.
func (st *Store) Reseal(ctx context.Context, reseal func(e *model.WebhookEndpoint) (cur, prev []byte, err error)) (int, error) {
	var ids []int64
	if err := st.db.WithContext(ctx).Model(&model.WebhookEndpoint{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		changed := false
		err := st.Tx(ctx, func(tx *Tx) error {
			// Read under the row lock: a secret rotated between this read
			// and the write would otherwise be overwritten with the old
			// secret, resealed.
			var e model.WebhookEndpoint
			if err := tx.st.forUpdate(tx.db).Where("id = ?", id).Take(&e).Error; err != nil {
				return err
			}
			cur, prev, err := reseal(&e)
			if err != nil {
				return err
			}
			var cols []string
			if cur != nil {
				cols = append(cols, "secret_enc")
			}
			if prev != nil {
				cols = append(cols, "prev_secret_enc")
			}
			if len(cols) == 0 {
				return nil
			}
			changed = true
			return tx.updateEndpoint(id, model.WebhookEndpoint{SecretEnc: cur, PrevSecretEnc: prev}, cols...)
		})
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// MarkHealth ends the failure streak of the recovered endpoints and starts
// one, at now, for the failing ones. The IS [NOT] NULL conditions keep a
// concurrent instance's change: the first failure's time is not moved
// forward.
func (st *Store) MarkHealth(ctx context.Context, recovered, failing []int64, now time.Time) error {
	return st.gatedTx(ctx, func(tx *Tx) error {
		if len(recovered) > 0 {
			if err := tx.db.Model(&model.WebhookEndpoint{}).Where("id IN ? AND failing_since IS NOT NULL", recovered).
				Update("failing_since", nil).Error; err != nil {
				return err
			}
		}
		if len(failing) > 0 {
			return tx.db.Model(&model.WebhookEndpoint{}).Where("id IN ? AND failing_since IS NULL", failing).
				Update("failing_since", now).Error
		}
		return nil
	})
}
