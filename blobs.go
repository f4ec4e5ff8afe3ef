package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"gorm.io/gorm"

	"realname/config"
	"realname/model"
	"realname/service/clock"
	"realname/service/pii"
	"realname/service/store"
	"realname/service/verify"
)

// photoStore is a blob store as the review pages, key rotation and the
// blobs command use it (pii.FileBlobs, pii.SQLBlobs, pii.S3Blobs).
type photoStore interface {
	store.Blobs
	Get(ctx context.Context, ref string) ([]byte, error)
	Walk(ctx context.Context, fn func(ref string) error) error
	Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error)
}

// openedPhotos is the photo store REALNAME_BLOB_URL names, seen two ways: its
// blobs, and the keeper the flow writes through, which alone knows whether
// a photo rides in its step's transaction, is staged beside it (files) or
// journaled beside it (S3).
type openedPhotos struct {
	blobs photoStore
	flow  verify.Photos
}

// openPhotos opens the blob store REALNAME_BLOB_URL names: "sql" (the
// default with PostgreSQL and MySQL, so every instance sees every photo),
// s3://… (an S3-compatible store) or file:// (the default with SQLite;
// DATA_DIR/blobs unless a path is given).
func openPhotos(ctx context.Context, cfg config.Config, db *gorm.DB, st *store.Store, ring *pii.KeyRing, clk clock.Clock) (openedPhotos, error) {
	blobURL := cfg.BlobURL
	if blobURL == "" {
		blobURL = "file://"
		if db.Name() != model.DialectSQLite {
			blobURL = "sql"
		}
	}
	if blobURL == "sql" {
		b := sqlPhotos(db, ring, clk)
		return openedPhotos{blobs: b, flow: st.TxPhotos(b)}, nil
	}
	if strings.HasPrefix(blobURL, "s3://") {
		loc, err := pii.ParseS3URL(blobURL)
		if err != nil {
			return openedPhotos{}, err
		}
		b, err := pii.NewS3Blobs(ctx, loc, cfg.S3.AccessKey, cfg.S3.SecretKey, ring)
		if err != nil {
			return openedPhotos{}, err
		}
		return openedPhotos{blobs: b, flow: st.JournaledPhotos(b)}, nil
	}
	u, err := url.Parse(blobURL)
	if err != nil || u.Scheme != "file" {
		return openedPhotos{}, fmt.Errorf("REALNAME_BLOB_URL: unsupported %q", blobURL)
	}
	dir := u.Path
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "blobs")
	}
	b, err := pii.NewFileBlobs(dir, ring)
	if err != nil {
		return openedPhotos{}, err
	}
	return openedPhotos{blobs: b, flow: st.StagedPhotos(b)}, nil
}

// minFreeDisk is the free space under the local data directory below
// which /readyz fails: an instance about to fill its disk stops taking
// uploads before a write fails.
const minFreeDisk = 100 << 20

// localDataDir is where this instance writes to its own disk: the photo
// files' directory with the file store, else the SQLite file's; "" when
// both the database and the photos live elsewhere.
func localDataDir(cfg config.Config, dialect string) string {
	if blob := cfg.BlobURL; blob == "" && dialect == model.DialectSQLite || strings.HasPrefix(blob, "file://") {
		if u, err := url.Parse(blob); err == nil && u.Path != "" {
			return u.Path
		}
		return cfg.DataDir
	}
	if dialect == model.DialectSQLite {
		if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://"); ok {
			return filepath.Dir(path)
		}
		return cfg.DataDir
	}
	return ""
}

// sqlPhotos is the photos table (pii.SQLBlobs, its one writer) on db,
// joining the verification store's transaction when a step runs: a photo
// is stored and erased atomically with the verification that names it.
func sqlPhotos(db *gorm.DB, ring *pii.KeyRing, clk clock.Clock) *pii.SQLBlobs {
	return pii.NewSQLBlobs(func(ctx context.Context) *gorm.DB { return store.Joined(ctx, db) }, ring, clk.Now)
}
