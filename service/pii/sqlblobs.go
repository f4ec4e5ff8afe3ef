package pii

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// SQLBlobs keeps ID-card photos sealed in the database's photos table.
// Writes go through conn, the verification store's connection for a
// context: inside a store step they join its transaction, so a photo is
// stored, replaced, erased and expired atomically with the verification
// that names it, and a photo of a step that rolled back never existed.
type SQLBlobs struct {
	conn func(context.Context) *gorm.DB
	seal Sealer
	now  func() time.Time
}

// NewSQLBlobs returns the database blob store.
func NewSQLBlobs(conn func(context.Context) *gorm.DB, seal Sealer, now func() time.Time) *SQLBlobs {
	return &SQLBlobs{conn: conn, seal: seal, now: now}
}

// Put seals data and stores it, in ctx's transaction when there is one.
func (b *SQLBlobs) Put(ctx context.Context, data []byte) (string, error) {
	ref := NewRef()
	return ref, b.PutRef(ctx, ref, data)
}

// PutRef seals data and stores it under ref (from NewRef).
func (b *SQLBlobs) PutRef(ctx context.Context, ref string, data []byte) error {
	if !validRef(ref) {
		return ErrNoBlob
	}
	sealed, err := sealBlob(b.seal, ref, data)
	if err != nil {
		return err
	}
	if err := b.conn(ctx).Create(&model.Photo{Ref: ref, Data: sealed, CreatedAt: b.now()}).Error; err != nil {
		return fmt.Errorf("pii: write blob: %w", err)
	}
	return nil
}

// Get returns the data stored under ref.
func (b *SQLBlobs) Get(ctx context.Context, ref string) ([]byte, error) {
	if !validRef(ref) {
		return nil, ErrNoBlob
	}
	var p model.Photo
	err := b.conn(ctx).Take(&p, "ref = ?", ref).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNoBlob
	}
	if err != nil {
		return nil, fmt.Errorf("pii: read blob: %w", err)
	}
	return openBlob(b.seal, ref, p.Data)
}

// Delete removes the blob, in ctx's transaction when there is one;
// deleting a missing blob is not an error.
func (b *SQLBlobs) Delete(ctx context.Context, ref string) error {
	if !validRef(ref) {
		return nil
	}
	if err := b.conn(ctx).Where("ref = ?", ref).Delete(&model.Photo{}).Error; err != nil {
		return fmt.Errorf("pii: delete blob: %w", err)
	}
	return nil
}

// Walk calls fn with the reference of every stored blob, in batches by
// reference, so it runs beside live traffic.
func (b *SQLBlobs) Walk(ctx context.Context, fn func(ref string) error) error {
	last := ""
	for {
		var refs []string
		if err := b.conn(ctx).Model(&model.Photo{}).Where("ref > ?", last).Order("ref").Limit(500).Pluck("ref", &refs).Error; err != nil {
			return fmt.Errorf("pii: list blobs: %w", err)
		}
		if len(refs) == 0 {
			return nil
		}
		for _, ref := range refs {
			if err := fn(ref); err != nil {
				return err
			}
		}
		last = refs[len(refs)-1]
	}
}

// Reseal re-encrypts the blob with the primary key when needs says its
// current sealing is outdated. It reports whether it rewrote it.
func (b *SQLBlobs) Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error) {
	var p model.Photo
	err := b.conn(ctx).Take(&p, "ref = ?", ref).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, ErrNoBlob
	}
	if err != nil {
		return false, fmt.Errorf("pii: read blob: %w", err)
	}
	if !needs(p.Data) {
		return false, nil
	}
	fresh, err := resealBlob(b.seal, ref, p.Data)
	if err != nil {
		return false, err
	}
	// Only the copy read is replaced: a delete meanwhile stays a delete.
	res := b.conn(ctx).Model(&model.Photo{}).Where("ref = ? AND data = ?", ref, p.Data).UpdateColumn("data", fresh)
	if res.Error != nil {
		return false, fmt.Errorf("pii: reseal blob: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Import stores sealed, already sealed under ref by a store that seals the
// same way (a FileBlobs being moved), unless ref is there already.
func (b *SQLBlobs) Import(ctx context.Context, ref string, sealed []byte) error {
	if !validRef(ref) {
		return ErrNoBlob
	}
	err := b.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&model.Photo{Ref: ref, Data: sealed, CreatedAt: b.now()}).Error
	if err != nil {
		return fmt.Errorf("pii: import blob: %w", err)
	}
	return nil
}
