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
// stopped and restarted at any point. It only reads through db: every
// value is written back by its table's owner (the verification store, the
// webhook package, the photo store), and only where it is unchanged since
// rotation read it, so a login or an erasure committed in between wins.
type Rotator struct {
	db    *gorm.DB
	store *store.Store
	ring  Ring
	blobs Blobs
	batch int
	log   *slog.Logger
	// between, when set, runs after a batch is read and resealed and
	// before it is written: tests commit a login or an erasure there.
	between func(table string)
}

// Blobs is the photo store as rotation walks it (pii.FileBlobs, pii.SQLBlobs).
type Blobs interface {
	Walk(ctx context.Context, fn func(ref string) error) error
	Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error)
}

// Deps are what a rotator works with.
type Deps struct {
	DB    *gorm.DB     // reads the sealed columns, writes users and the tables the store does not own
	Store *store.Store // rewrites verifications and their attempts, their one writer
	Ring  Ring
	Blobs Blobs // nil skips photos
	Batch int   // rows per transaction; 500 when 0
	Log   *slog.Logger
}

// New returns a rotator.
func New(d Deps) *Rotator {
	if d.Batch <= 0 {
		d.Batch = 500
	}
	return &Rotator{db: d.DB, store: d.Store, ring: d.Ring, blobs: d.Blobs, batch: d.Batch, log: d.Log}
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

// sealed is one sealed value as rotation reads it, with the associated
// data it is sealed under.
type sealed struct {
	id  int64
	ct  []byte
	aad []byte
}

// maxRereads bounds how often rotation reads again a row that changed
// between its read and its write; each change is a login or an erasure,
// which leaves nothing to reseal, so a second read normally settles it.
const maxRereads = 5

// column reseals one sealed column of a table in batches and returns how
// many values it rewrote. read returns up to a batch of rows with id
// above after, or, given ids, those rows as they are now (a row gone or
// emptied is simply absent or empty); write is the owner's compare-and-set,
// which returns the ids whose value changed since it was read: those are
// read again and resealed from what they hold now.
func (r *Rotator) column(ctx context.Context, table string, read func(ctx context.Context, after int64, ids []int64) ([]sealed, error),
	write func(ctx context.Context, rs []store.Resealing) ([]int64, error)) (int, error) {
	n := 0
	var last int64
	for {
		rows, err := read(ctx, last, nil)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		last = rows[len(rows)-1].id
		for try := 0; ; try++ {
			var rs []store.Resealing
			for _, row := range rows {
				ct, changed, err := r.reseal(row.ct, row.aad)
				if err != nil {
					return n, fmt.Errorf("%s %d: %w", table, row.id, err)
				}
				if changed {
					rs = append(rs, store.Resealing{ID: row.id, Old: row.ct, New: ct})
				}
			}
			if len(rs) == 0 {
				break
			}
			if r.between != nil {
				r.between(table)
			}
			stale, err := write(ctx, rs)
			if err != nil {
				return n, err
			}
			n += len(rs) - len(stale)
			if len(stale) == 0 {
				break
			}
			if try+1 >= maxRereads {
				return n, fmt.Errorf("%s %v: changed under rotation %d times in a row", table, stale, maxRereads)
			}
			if rows, err = read(ctx, 0, stale); err != nil {
				return n, err
			}
		}
	}
}

// page is the keyset page after `after`, or the rows ids when given.
func (r *Rotator) page(ctx context.Context, q *gorm.DB, after int64, ids []int64) *gorm.DB {
	q = q.WithContext(ctx)
	if ids != nil {
		return q.Where("id IN ?", ids)
	}
	return q.Where("id > ?", after).Order("id").Limit(r.batch)
}

// users reseals the users' WeChat session keys.
func (r *Rotator) users(ctx context.Context, st *Stats) error {
	n, err := r.column(ctx, "users", func(ctx context.Context, after int64, ids []int64) ([]sealed, error) {
		var rows []model.User
		if err := r.page(ctx, r.db.Select("id", "app_id", "open_id", "session_key_enc"), after, ids).Find(&rows).Error; err != nil {
			return nil, err
		}
		out := make([]sealed, len(rows))
		for i, u := range rows {
			out[i] = sealed{id: u.ID, ct: u.SessionKeyEnc, aad: login.SessionKeyAAD(u.AppID, u.OpenID)}
		}
		return out, nil
	}, r.store.ResealSessionKeys)
	st.Users += n
	return err
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

// resealVerification rewrites v's sealed columns under the primary key and
// its ID number's lookup hash under the current hash key.
func (r *Rotator) resealVerification(v *model.Verification) error {
	for _, col := range v.Sealed() {
		ct, changed, err := r.reseal(*col.Value, verify.FieldAAD(col.Name, v.ID))
		if err != nil {
			return fmt.Errorf("%s: %w", col.Name, err)
		}
		if changed {
			*col.Value = ct
		}
	}
	if len(v.IDNumberEnc) > 0 {
		num, err := r.ring.Decrypt(v.IDNumberEnc, verify.FieldAAD("id_number_enc", v.ID))
		if err != nil {
			return fmt.Errorf("id number: %w", err)
		}
		v.IDNumberHash = r.ring.Hash(pii.PurposeIDNumber, num)
	}
	return nil
}

// attempts reseals what each provider call read.
func (r *Rotator) attempts(ctx context.Context, st *Stats) error {
	n, err := r.column(ctx, "provider_attempts", func(ctx context.Context, after int64, ids []int64) ([]sealed, error) {
		var rows []model.ProviderAttempt
		q := r.db.Select("id", "verification_id", "fields_enc").Where("fields_enc IS NOT NULL")
		if err := r.page(ctx, q, after, ids).Find(&rows).Error; err != nil {
			return nil, err
		}
		out := make([]sealed, len(rows))
		for i, a := range rows {
			out[i] = sealed{id: a.ID, ct: a.FieldsEnc, aad: verify.AttemptAAD(a.VerificationID)}
		}
		return out, nil
	}, r.store.ResealAttempts)
	st.Attempts += n
	return err
}

// texts reseals reviewers' notes and revoke reasons (event_texts).
func (r *Rotator) texts(ctx context.Context, st *Stats) error {
	n, err := r.column(ctx, "event_texts", func(ctx context.Context, after int64, ids []int64) ([]sealed, error) {
		var rows []model.EventText
		if err := r.page(ctx, r.db.Select("id", "verification_id", "digest", "text_enc"), after, ids).Find(&rows).Error; err != nil {
			return nil, err
		}
		out := make([]sealed, len(rows))
		for i, t := range rows {
			out[i] = sealed{id: t.ID, ct: t.TextEnc, aad: store.TextAAD(t.VerificationID, t.Digest)}
		}
		return out, nil
	}, r.store.ResealTexts)
	st.Texts += n
	return err
}
