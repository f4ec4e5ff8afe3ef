package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0004 drops ix_verifications_sweep: it had the same columns as
// ix_verifications_queue (state, updated_at), so every write kept two
// copies of one index for the sweeper, which the queue index serves.
func migration0004() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0004_drop_duplicate_sweep_index",
		Migrate: func(tx *gorm.DB) error {
			if !tx.Migrator().HasIndex(&v4Verification{}, "ix_verifications_sweep") {
				return nil
			}
			return tx.Migrator().DropIndex(&v4Verification{}, "ix_verifications_sweep")
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().CreateIndex(&v4Verification{}, "ix_verifications_sweep")
		},
	}
}

func (v4Verification) TableName() string { return "verifications" }

// v4Verification holds the columns of the index this migration drops, so
// Rollback can recreate it.
type v4Verification struct {
	State     string    `gorm:"size:16;not null;index:ix_verifications_sweep,priority:1"`
	UpdatedAt time.Time `gorm:"not null;index:ix_verifications_sweep,priority:2"`
}
