package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0005 adds ix_verifications_photos (photos_deleted_at,
// updated_at) for the photo-retention sweep, which every instance runs
// every minute: without it that query read the whole verifications table
// each time.
func migration0005() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0005_photo_retention_index",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateIndex(&v5Verification{}, "ix_verifications_photos")
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Migrator().DropIndex(&v5Verification{}, "ix_verifications_photos")
		},
	}
}

func (v5Verification) TableName() string { return "verifications" }

// v5Verification holds the columns of the index this migration adds.
type v5Verification struct {
	PhotosDeletedAt *time.Time `gorm:"index:ix_verifications_photos,priority:1"`
	UpdatedAt       time.Time  `gorm:"not null;index:ix_verifications_photos,priority:2"`
}
