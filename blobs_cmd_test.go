package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/pii"
	"realname/service/pii/piitest"
)

// TestMigrateBlobsToSQL: the photos a verification names move from the
// file store into the database, still opening with the same key; the
// files are gone; a second run moves nothing.
func TestMigrateBlobsToSQL(t *testing.T) {
	testMigrateBlobs(t, func(t *testing.T, db *gorm.DB, ring *pii.KeyRing) migrationTarget {
		return pii.NewSQLBlobs(func(ctx context.Context) *gorm.DB { return db.WithContext(ctx) }, ring, time.Now)
	})
}

// TestMigrateBlobsToS3 is the same move into the S3-compatible store.
func TestMigrateBlobsToS3(t *testing.T) {
	testMigrateBlobs(t, func(t *testing.T, _ *gorm.DB, ring *pii.KeyRing) migrationTarget {
		b, _, _ := piitest.OpenS3(t, ring)
		return b
	})
}

// migrationTarget is a store photos move into, read back by the test.
type migrationTarget interface {
	importer
	Get(ctx context.Context, ref string) ([]byte, error)
}

func testMigrateBlobs(t *testing.T, target func(*testing.T, *gorm.DB, *pii.KeyRing) migrationTarget) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		spec, _ := pii.GenerateKeySpec()
		ring, err := pii.ParseKeyRing(spec)
		if err != nil {
			t.Fatal(err)
		}
		files, err := pii.NewFileBlobs(t.TempDir(), ring)
		if err != nil {
			t.Fatal(err)
		}
		rows := target(t, db, ring)
		front, _ := files.Put(ctx, []byte("front photo"))
		back, _ := files.Put(ctx, []byte("back photo"))
		orphan, _ := files.Put(ctx, []byte("named by nobody"))
		u := model.User{AppID: "wx", OpenID: "o-migrate"}
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&model.Verification{UserID: u.ID, State: "review", Version: 1, Mode: "photo",
			FrontBlob: front, BackBlob: back}).Error; err != nil {
			t.Fatal(err)
		}
		moved, missing, err := migrateBlobs(ctx, db, files, rows)
		if err != nil || moved != 2 || missing != 0 {
			t.Fatalf("migrate: moved %d missing %d: %v", moved, missing, err)
		}
		for ref, want := range map[string]string{front: "front photo", back: "back photo"} {
			got, err := rows.Get(ctx, ref)
			if err != nil || !bytes.Equal(got, []byte(want)) {
				t.Fatalf("%s in the database: %q %v", ref, got, err)
			}
			if _, err := files.Get(ctx, ref); err == nil {
				t.Fatalf("%s still on disk", ref)
			}
		}
		if _, err := files.Get(ctx, orphan); err != nil {
			t.Fatalf("a file no verification names was touched: %v", err)
		}
		if moved, missing, err := migrateBlobs(ctx, db, files, rows); err != nil || moved != 0 || missing != 2 {
			t.Fatalf("second run: moved %d missing %d: %v", moved, missing, err)
		}
	})
}
