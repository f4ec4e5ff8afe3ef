package store

import (
	"context"
	"fmt"
	"time"

	"realname/service/pii"
)

// Blobs is a photo store as the keepers below write it (pii.SQLBlobs,
// pii.FileBlobs, pii.S3Blobs).
type Blobs interface {
	PutRef(ctx context.Context, ref string, data []byte) error // ref from pii.NewRef
	Delete(ctx context.Context, ref string) error
}

// TxPhotos keeps photos whose writes join the store's transaction (the
// database's photos table, pii.SQLBlobs over Conn): a photo is written in
// the step that names it and deleted in the one that stops naming it, so
// a rolled-back step leaves nothing to clean up. The journal stays empty.
type TxPhotos struct {
	st    *Store
	blobs Blobs
}

// TxPhotos keeps photos in blobs, which writes in ctx's transaction.
func (s *Store) TxPhotos(blobs Blobs) *TxPhotos { return &TxPhotos{st: s, blobs: blobs} }

// Add runs step and writes data under the ref step was given, in one
// transaction (step first: a refused step writes no photo).
func (p *TxPhotos) Add(ctx context.Context, data []byte, step func(ctx context.Context, ref string) error) error {
	ref := pii.NewRef()
	return p.st.InTx(ctx, func(ctx context.Context) error {
		if err := step(ctx, ref); err != nil {
			return err
		}
		if err := p.blobs.PutRef(ctx, ref, data); err != nil {
			return fmt.Errorf("store: write photo: %w", err)
		}
		return nil
	})
}

// Drop deletes refs in ctx's transaction.
func (p *TxPhotos) Drop(ctx context.Context, refs ...string) error {
	for _, ref := range refs {
		if ref != "" {
			if err := p.blobs.Delete(ctx, ref); err != nil {
				return fmt.Errorf("store: delete photo: %w", err)
			}
		}
	}
	return nil
}

// SweepOrphans deletes what the journal still lists (left by a file or S3
// store this database used before its photos moved in).
func (p *TxPhotos) SweepOrphans(ctx context.Context, before time.Time, limit int) (int, error) {
	return p.st.sweepJournal(ctx, p.blobs, before, limit)
}

// JournaledPhotos keeps photos outside the database (files, S3), where no
// transaction reaches: a photo is journaled and written before the step
// that names it (no slow I/O under the database's locks) and unjournaled
// by that step; a photo a step stops naming is journaled by it and deleted
// after its commit. A crash in between leaves a journal entry, which
// SweepOrphans finds.
type JournaledPhotos struct {
	st    *Store
	blobs Blobs
}

// JournaledPhotos keeps photos in blobs, which writes at once.
func (s *Store) JournaledPhotos(blobs Blobs) *JournaledPhotos {
	return &JournaledPhotos{st: s, blobs: blobs}
}

// Add journals and writes data, then runs step with its ref in one
// transaction that unjournals it; the photo is deleted again if that
// transaction does not commit. ctx must carry no transaction.
func (p *JournaledPhotos) Add(ctx context.Context, data []byte, step func(ctx context.Context, ref string) error) error {
	ref := pii.NewRef()
	if err := p.st.Journal(ctx, ref); err != nil {
		return err
	}
	if err := p.blobs.PutRef(ctx, ref, data); err != nil {
		p.st.deletePhotos(context.WithoutCancel(ctx), p.blobs, ref)
		return fmt.Errorf("store: write photo: %w", err)
	}
	err := p.st.InTx(ctx, func(ctx context.Context) error {
		if err := step(ctx, ref); err != nil {
			return err
		}
		return p.st.Unjournal(ctx, ref) // named now
	})
	if err != nil {
		p.st.deletePhotos(context.WithoutCancel(ctx), p.blobs, ref)
	}
	return err
}

// Drop journals refs in ctx's transaction and deletes them once it has
// committed; a delete that fails stays journaled for SweepOrphans.
func (p *JournaledPhotos) Drop(ctx context.Context, refs ...string) error {
	if err := p.st.Journal(ctx, refs...); err != nil {
		return err
	}
	afterCommit(ctx, func(ctx context.Context) { p.st.deletePhotos(ctx, p.blobs, refs...) })
	return nil
}

// SweepOrphans deletes up to limit photos journaled before before: their
// step never committed, or their delete after it failed.
func (p *JournaledPhotos) SweepOrphans(ctx context.Context, before time.Time, limit int) (int, error) {
	return p.st.sweepJournal(ctx, p.blobs, before, limit)
}

// sweepJournal deletes up to limit photos journaled before before.
func (s *Store) sweepJournal(ctx context.Context, blobs Blobs, before time.Time, limit int) (int, error) {
	orphans, err := s.JournalDue(ctx, before, limit)
	if err != nil {
		return 0, err
	}
	return s.deletePhotos(ctx, blobs, orphans...), nil
}

// deletePhotos deletes photos that no verification names and forgets
// their journal entries; one that fails stays journaled, to be tried
// again. It returns how many it deleted.
func (s *Store) deletePhotos(ctx context.Context, blobs Blobs, refs ...string) int {
	n := 0
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if err := blobs.Delete(ctx, ref); err != nil {
			s.log.Warn("deleting a photo failed; the sweeper retries", "err", err)
			continue
		}
		if err := s.Unjournal(ctx, ref); err != nil {
			s.log.Warn("forgetting a deleted photo failed; the sweeper retries", "err", err)
			continue
		}
		n++
	}
	return n
}
