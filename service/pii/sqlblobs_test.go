package pii_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/pii"
)

// TestSQLBlobs is the database blob store on every backend: sealed at
// rest, written and deleted in the caller's transaction, walked and
// resealed after a key rotation.
func TestSQLBlobs(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		oldSpec, _ := pii.GenerateKeySpec()
		ring, err := pii.ParseKeyRing(oldSpec)
		if err != nil {
			t.Fatal(err)
		}
		type txKey struct{}
		conn := func(ctx context.Context) *gorm.DB {
			if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
				return tx
			}
			return db.WithContext(ctx)
		}
		now := func() time.Time { return time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC) }
		blobs := pii.NewSQLBlobs(conn, ring, now)
		ctx := context.Background()
		photo := bytes.Repeat([]byte("\xff\xd8 pretend JPEG of 张三 110101199003078515 "), 20000) // ~1 MB
		ref, err := blobs.Put(ctx, photo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := blobs.Get(ctx, ref)
		if err != nil || !bytes.Equal(got, photo) {
			t.Fatalf("round trip: %v", err)
		}
		var row model.Photo
		db.Take(&row, "ref = ?", ref)
		if bytes.Contains(row.Data, []byte("110101199003078515")) {
			t.Fatal("photo stored in clear")
		}
		// Written in a transaction that rolls back: it never existed.
		var lost string
		_ = db.Transaction(func(tx *gorm.DB) error {
			lost, _ = blobs.Put(context.WithValue(ctx, txKey{}, tx), photo)
			return errors.New("the step failed")
		})
		if _, err := blobs.Get(ctx, lost); !errors.Is(err, pii.ErrNoBlob) {
			t.Fatalf("photo of a rolled-back step: %v", err)
		}
		// Another row under the same ref does not open (the ref is sealed in).
		other, _ := blobs.Put(ctx, []byte("other"))
		db.Model(&model.Photo{}).Where("ref = ?", other).UpdateColumn("data", row.Data)
		if _, err := blobs.Get(ctx, other); err == nil || errors.Is(err, pii.ErrNoBlob) {
			t.Fatalf("a copied photo opened: %v", err)
		}
		if err := blobs.Delete(ctx, other); err != nil {
			t.Fatal(err)
		}
		// Rotation: a new primary key, reseal everything, drop the old key.
		rotateThenDelete(t, oldSpec, ref, photo, 1, func(ring *pii.KeyRing) resealable {
			return pii.NewSQLBlobs(conn, ring, now)
		})
	})
}
