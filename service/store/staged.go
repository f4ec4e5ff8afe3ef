package store

import (
	"context"
	"fmt"
	"time"

	"realname/model"
	"realname/service/pii"
)

// Stager is a photo store that holds a photo apart until the step naming
// it has committed (pii.FileBlobs).
type Stager interface {
	Blobs
	Stage(ctx context.Context, ref string, data []byte, at time.Time) error
	Publish(ref string) error
	Staged(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// StagedPhotos keeps photos in a store that stages them: a photo is staged
// before the step that names it (no slow I/O under the database's locks,
// and no journal row: nothing for the database to write) and published
// once that step has committed. A crash in between leaves a staged photo,
// which SweepOrphans publishes when a verification names it and deletes
// when none does. A photo a step stops naming is journaled by it and
// deleted after its commit, as JournaledPhotos does.
type StagedPhotos struct {
	*JournaledPhotos // Drop, and the journal's share of SweepOrphans
	st               *Store
	blobs            Stager
}

// StagedPhotos keeps photos in blobs, which stages them.
func (s *Store) StagedPhotos(blobs Stager) *StagedPhotos {
	return &StagedPhotos{JournaledPhotos: s.JournaledPhotos(blobs), st: s, blobs: blobs}
}

// Add stages data, runs step with its ref in one transaction and publishes
// the photo once that has committed; the photo is deleted again if the
// transaction does not commit. ctx must carry no transaction.
func (p *StagedPhotos) Add(ctx context.Context, data []byte, step func(ctx context.Context, ref string) error) error {
	ref := pii.NewRef()
	if err := p.blobs.Stage(ctx, ref, data, p.st.clk.Now()); err != nil {
		return fmt.Errorf("store: write photo: %w", err)
	}
	if err := p.st.InTx(ctx, func(ctx context.Context) error { return step(ctx, ref) }); err != nil {
		if derr := p.blobs.Delete(context.WithoutCancel(ctx), ref); derr != nil {
			p.st.log.Warn("deleting a photo whose step failed did not work; the sweeper retries", "err", derr)
		}
		return err
	}
	if err := p.blobs.Publish(ref); err != nil {
		// Readable where it is; the sweeper moves it.
		p.st.log.Warn("publishing a photo failed; the sweeper retries", "err", err)
	}
	return nil
}

// SweepOrphans settles up to limit photos staged before before (published
// when a verification names them, deleted when none does) and deletes
// what the journal lists from before then. It reports how many it deleted.
func (p *StagedPhotos) SweepOrphans(ctx context.Context, before time.Time, limit int) (int, error) {
	refs, err := p.blobs.Staged(ctx, before, limit)
	if err != nil {
		return 0, err
	}
	named, err := p.st.named(ctx, refs)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		if named[ref] {
			if err := p.blobs.Publish(ref); err != nil {
				return n, err
			}
			continue
		}
		if err := p.blobs.Delete(ctx, ref); err != nil {
			return n, fmt.Errorf("store: delete photo: %w", err)
		}
		n++
	}
	journaled, err := p.JournaledPhotos.SweepOrphans(ctx, before, limit)
	return n + journaled, err
}

// named reports which of refs a verification names as a photo.
func (s *Store) named(ctx context.Context, refs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(refs) == 0 {
		return out, nil
	}
	var rows []model.Verification
	err := s.conn(ctx).Select("front_blob", "back_blob").Where("front_blob IN ? OR back_blob IN ?", refs, refs).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: photos named: %w", err)
	}
	for _, v := range rows {
		out[v.FrontBlob], out[v.BackBlob] = true, true
	}
	return out, nil
}
