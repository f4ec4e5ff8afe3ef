package pii

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// A photo file is staged before the step that names it commits and
// published (renamed into place) after: a crash between the two leaves a
// staged file, which the sweeper publishes when a verification names it
// and deletes when none does. Staging costs the database nothing, where a
// journal row written and deleted around every upload cost it two
// statements and a commit.

// stagedDir holds staged photos, flat: the sweeper lists it whole.
func (b *FileBlobs) stagedDir() string { return filepath.Join(b.dir, "staged") }

func (b *FileBlobs) stagedPath(ref string) string { return filepath.Join(b.stagedDir(), ref) }

// Stage seals data and writes it, flushed to disk, as the staged photo
// ref (from NewRef), dated at (the caller's clock, which the sweeper's
// grace time is counted on).
func (b *FileBlobs) Stage(ctx context.Context, ref string, data []byte, at time.Time) error {
	sealed, err := b.sealRef(ctx, ref, data)
	if err != nil {
		return err
	}
	// No rename needed: until its step commits nothing names the file, and
	// the step begins only once the data is on disk.
	p := b.stagedPath(ref)
	if err := writeSynced(p, sealed); err != nil {
		_ = os.Remove(p)
		return fmt.Errorf("pii: stage blob: %w", err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		_ = os.Remove(p)
		return fmt.Errorf("pii: stage blob: %w", err)
	}
	return nil
}

// Publish moves the staged photo ref into place once its step has
// committed. A photo already in place is not an error (os.ErrNotExist
// when there is neither).
func (b *FileBlobs) Publish(ref string) error {
	if !validRef(ref) {
		return ErrNoBlob
	}
	p := b.path(ref)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("pii: blob dir: %w", err)
	}
	err := os.Rename(b.stagedPath(ref), p)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(p); serr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("pii: publish blob: %w", err)
	}
	return nil
}

// Staged lists up to limit photos staged before before: their step
// never committed, or the process died before publishing them.
func (b *FileBlobs) Staged(ctx context.Context, before time.Time, limit int) ([]string, error) {
	f, err := os.Open(b.stagedDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pii: staged blobs: %w", err)
	}
	defer f.Close()
	var out []string
	for len(out) < limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if !validRef(e.Name()) || len(out) >= limit {
				continue
			}
			info, ierr := e.Info()
			if ierr == nil && info.ModTime().Before(before) {
				out = append(out, e.Name())
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pii: staged blobs: %w", err)
		}
	}
	return out, nil
}
