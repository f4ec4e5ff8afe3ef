package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"realname/model"
	"realname/service/clock"
	"realname/service/pii"
	"realname/service/store"

	"gorm.io/gorm"
)

// blobsCmd is "blobs migrate --to sql|s3": the photos of a file store
// move into the database or the S3-compatible store REALNAME_BLOB_URL
// names, so instances with separate disks all see them. The
// sealed bytes are copied as they are (both stores seal with the
// reference as associated data), then the file is removed. Safe to run
// beside live instances and to run again.
func blobsCmd(args, environ []string, stdout, stderr io.Writer) error {
	sub, args := subcommand(args)
	fs := newFlags("blobs "+sub, stderr, true, `Subcommands:
  migrate --to sql|s3   move the photos of the file store (REALNAME_DATA_DIR/blobs, or --from file:///path)
                        into the database, or into the s3:// store REALNAME_BLOB_URL names`)
	to := fs.String("to", "sql", "target store: sql, or s3 (the s3:// REALNAME_BLOB_URL)")
	from := fs.String("from", "file://", "source file store: file:// (REALNAME_DATA_DIR/blobs) or file:///path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub != "migrate" {
		fs.Usage()
		return errors.New("blobs: want migrate")
	}
	if *to != "sql" && *to != "s3" {
		return fmt.Errorf("blobs: --to must be sql or s3, not %q", *to)
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	ring, err := masterKeyRing(env.cfg, env.log)
	if err != nil {
		return err
	}
	src := env.cfg
	src.BlobURL = *from
	verifications := store.New(env.db, clock.System{}, env.log)
	files, err := openPhotos(env.ctx, src, env.db, verifications, ring, clock.System{})
	if err != nil {
		return err
	}
	fileStore, ok := files.blobs.(*pii.FileBlobs)
	if !ok {
		return fmt.Errorf("blobs: --from must be a file:// store")
	}
	var target importer = sqlPhotos(env.db, ring, clock.System{})
	if *to == "s3" {
		dst := env.cfg
		if !strings.HasPrefix(dst.BlobURL, "s3://") {
			return errors.New("blobs: --to s3 moves into the s3:// store REALNAME_BLOB_URL names; it is not set to one")
		}
		s3, err := openPhotos(env.ctx, dst, env.db, verifications, ring, clock.System{})
		if err != nil {
			return err
		}
		target = s3.blobs.(*pii.S3Blobs)
	}
	moved, missing, err := migrateBlobs(env.ctx, env.db, fileStore, target)
	fmt.Fprintf(stdout, "moved=%d missing=%d\n", moved, missing)
	return err
}

// importer takes sealed photos as they are (pii.SQLBlobs, pii.S3Blobs).
type importer interface {
	Import(ctx context.Context, ref string, sealed []byte) error
}

// migrateBlobs copies every photo a verification still names from files
// into the target store, in batches by verification id.
func migrateBlobs(ctx context.Context, db *gorm.DB, files *pii.FileBlobs, rows importer) (moved, missing int, err error) {
	var last int64
	for {
		var vs []model.Verification
		err := db.WithContext(ctx).Select("id", "front_blob", "back_blob").
			Where("id > ? AND (front_blob <> '' OR back_blob <> '')", last).Order("id").Limit(500).Find(&vs).Error
		if err != nil || len(vs) == 0 {
			return moved, missing, err
		}
		for _, v := range vs {
			for _, ref := range []string{v.FrontBlob, v.BackBlob} {
				if ref == "" {
					continue
				}
				sealed, err := files.ReadSealed(ref)
				if errors.Is(err, pii.ErrNoBlob) {
					missing++ // moved by an earlier run, or lost
					continue
				}
				if err != nil {
					return moved, missing, err
				}
				if err := rows.Import(ctx, ref, sealed); err != nil {
					return moved, missing, err
				}
				if err := files.Delete(ctx, ref); err != nil {
					return moved, missing, err
				}
				moved++
			}
		}
		last = vs[len(vs)-1].ID
	}
}
