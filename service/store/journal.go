package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"realname/model"
)

// Journal records refs as photos no verification may name, in ctx's
// transaction when there is one: before a photo is written for a step,
// and in the step that stops naming one.
func (s *Store) Journal(ctx context.Context, refs ...string) error {
	rows := make([]model.BlobJournal, 0, len(refs))
	now := s.clk.Now()
	for _, r := range refs {
		if r != "" {
			rows = append(rows, model.BlobJournal{Ref: r, CreatedAt: now})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: journal photos: %w", err)
	}
	return nil
}

// Unjournal forgets refs: named by the step committing with it, or
// deleted.
func (s *Store) Unjournal(ctx context.Context, refs ...string) error {
	var keep []string
	for _, r := range refs {
		if r != "" {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	if err := s.conn(ctx).Where("ref IN ?", keep).Delete(&model.BlobJournal{}).Error; err != nil {
		return fmt.Errorf("store: unjournal photos: %w", err)
	}
	return nil
}

// JournalDue lists up to limit journaled photos recorded before before:
// their step never committed, or their deletion after it failed.
func (s *Store) JournalDue(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var refs []string
	err := s.conn(ctx).Model(&model.BlobJournal{}).Where("created_at < ?", before).Order("created_at").Limit(limit).Pluck("ref", &refs).Error
	if err != nil {
		return nil, fmt.Errorf("store: journal: %w", err)
	}
	return refs, nil
}
