// Package keys re-encrypts personal data after the master key ring gained a
// new primary key, so the old key can eventually be dropped.
package keys

import (
	"context"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/login"
	"realname/service/pii"
	"realname/service/store"
	"realname/service/verify"
	"realname/service/webhook"
)

// Ring is the key ring as rotation uses it.
type Ring interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
	NeedsRotation(ciphertext []byte) bool
	Hash(purpose string, value []byte) []byte
}

// Stats counts what a rotation rewrote.
type Stats struct {
	Users, Verifications, Attempts, Texts, Bindings, Blobs, WebhookSecrets int
}

// Rotator walks every sealed column in batches (keyset pagination by id,
// one transaction per batch), so it can run beside live traffic and be
// stopped and restarted at any point.
type Rotator struct {
	db    *gorm.DB
	store *store.Store
	ring  Ring
	blobs Blobs
	batch int
	log   *slog.Logger
}

// Blobs is the photo store as rotation walks it (pii.FileBlobs, pii.SQLBlobs).
type Blobs interface {
	Walk(ctx context.Context, fn func(ref string) error) error
	Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error)
}

// New returns a rotator; blobs may be nil to skip photos. Verifications
// and their attempts are rewritten through st, their one writer.
func New(db *gorm.DB, st *store.Store, ring Ring, blobs Blobs, batch int, log *slog.Logger) *Rotator {
	if batch <= 0 {
		batch = 500
	}
	return &Rotator{db: db, store: st, ring: ring, blobs: blobs, batch: batch, log: log}
}

// reseal re-encrypts ct under aad when it is not sealed with the primary key.
func (r *Rotator) reseal(ct, aad []byte) ([]byte, bool, error) {
	if len(ct) == 0 || !r.ring.NeedsRotation(ct) {
		return ct, false, nil
	}
	pt, err := r.ring.Decrypt(ct, aad)
	if err != nil {
		return nil, false, err
	}
	out, err := r.ring.Encrypt(pt, aad)
	return out, err == nil, err
}

// Run rotates everything and returns the counts.
func (r *Rotator) Run(ctx context.Context) (Stats, error) {
	var st Stats
	if err := r.users(ctx, &st); err != nil {
		return st, fmt.Errorf("keys: users: %w", err)
	}
	if err := r.verifications(ctx, &st); err != nil {
		return st, fmt.Errorf("keys: verifications: %w", err)
	}
	if err := r.attempts(ctx, &st); err != nil {
		return st, fmt.Errorf("keys: provider attempts: %w", err)
	}
	if err := r.texts(ctx, &st); err != nil {
		return st, fmt.Errorf("keys: notes: %w", err)
	}
	n, err := webhook.ResealSecrets(ctx, r.db, r.ring)
	st.WebhookSecrets = n
	if err != nil {
		return st, fmt.Errorf("keys: %w", err)
	}
	if r.blobs != nil {
		err := r.blobs.Walk(ctx, func(ref string) error {
			done, err := r.blobs.Reseal(ctx, ref, r.ring.NeedsRotation)
			if done {
				st.Blobs++
			}
			return err
		})
		if err != nil {
			return st, fmt.Errorf("keys: photos: %w", err)
		}
	}
	return st, nil
}

func (r *Rotator) users(ctx context.Context, st *Stats) error {
	var last int64
	for {
		var rows []model.User
		if err := r.db.WithContext(ctx).Where("id > ?", last).Order("id").Limit(r.batch).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, u := range rows {
				ct, changed, err := r.reseal(u.SessionKeyEnc, login.SessionKeyAAD(u.AppID, u.OpenID))
				if err != nil {
					return fmt.Errorf("user %d: %w", u.ID, err)
				}
				if changed {
					if err := tx.Model(&model.User{}).Where("id = ?", u.ID).Update("session_key_enc", ct).Error; err != nil {
						return err
					}
					st.Users++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		last = rows[len(rows)-1].ID
	}
}

// verifications re-seals every personal column and recomputes the ID
// number's lookup hash (and its bindings), which changes when the hash
// key follows the primary key. Each row is re-read under its lock, so a
// step committing meanwhile is never overwritten with an older reading.
func (r *Rotator) verifications(ctx context.Context, st *Stats) error {
	var last int64
	for {
		var ids []int64
		if err := r.db.WithContext(ctx).Model(&model.Verification{}).Where("id > ?", last).Order("id").Limit(r.batch).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			changed, bound, err := r.store.Reseal(ctx, id, r.resealVerification)
			if err != nil {
				return fmt.Errorf("verification %d: %w", id, err)
			}
			if changed {
				st.Verifications++
			}
			st.Bindings += bound
		}
		last = ids[len(ids)-1]
	}
}

func (r *Rotator) resealVerification(v model.Verification) (store.Resealed, error) {
	var out store.Resealed
	for _, col := range []struct {
		name string
		ct   []byte
		dst  *[]byte
	}{{"name_enc", v.NameEnc, &out.NameEnc}, {"id_number_enc", v.IDNumberEnc, &out.IDNumberEnc},
		{"fields_enc", v.FieldsEnc, &out.FieldsEnc}, {"corrections_enc", v.CorrectionsEnc, &out.CorrectionsEnc}} {
		ct, changed, err := r.reseal(col.ct, verify.FieldAAD(col.name, v.ID))
		if err != nil {
			return out, fmt.Errorf("%s: %w", col.name, err)
		}
		if changed {
			*col.dst = ct
		}
	}
	if len(v.IDNumberEnc) > 0 {
		num, err := r.ring.Decrypt(v.IDNumberEnc, verify.FieldAAD("id_number_enc", v.ID))
		if err != nil {
			return out, fmt.Errorf("id number: %w", err)
		}
		out.IDNumberHash = r.ring.Hash(pii.PurposeIDNumber, num)
	}
	return out, nil
}

func (r *Rotator) attempts(ctx context.Context, st *Stats) error {
	var last int64
	for {
		var rows []model.ProviderAttempt
		if err := r.db.WithContext(ctx).Where("id > ? AND fields_enc IS NOT NULL", last).Order("id").Limit(r.batch).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		err := r.store.InTx(ctx, func(ctx context.Context) error {
			for _, a := range rows {
				ct, changed, err := r.reseal(a.FieldsEnc, verify.AttemptAAD(a.VerificationID))
				if err != nil {
					return fmt.Errorf("attempt %d: %w", a.ID, err)
				}
				if changed {
					if err := r.store.ResealAttempt(ctx, a.ID, ct); err != nil {
						return err
					}
					st.Attempts++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		last = rows[len(rows)-1].ID
	}
}

// texts reseals reviewers' notes and revoke reasons (event_texts).
func (r *Rotator) texts(ctx context.Context, st *Stats) error {
	var last int64
	for {
		var rows []model.EventText
		if err := r.db.WithContext(ctx).Where("id > ?", last).Order("id").Limit(r.batch).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		err := r.store.InTx(ctx, func(ctx context.Context) error {
			for _, t := range rows {
				ct, changed, err := r.reseal(t.TextEnc, store.TextAAD(t.VerificationID, t.Digest))
				if err != nil {
					return fmt.Errorf("text %d: %w", t.ID, err)
				}
				if changed {
					if err := r.store.ResealText(ctx, t.ID, ct); err != nil {
						return err
					}
					st.Texts++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		last = rows[len(rows)-1].ID
	}
}
