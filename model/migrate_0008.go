package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0008 adds blob_journal: photos in a file or S3 store that no
// verification may name (written for a step that has not committed, or
// unreferenced by one that has), so the sweeper deletes those a crash left
// behind.
func migration0008() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0008_blob_journal",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateTable(&v8BlobJournal{})
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Exec("DROP TABLE blob_journal").Error // plain DDL, as 0007
		},
	}
}

func (v8BlobJournal) TableName() string { return "blob_journal" }

// v8BlobJournal is the table as this migration creates it.
type v8BlobJournal struct {
	Ref       string    `gorm:"primaryKey;size:32"`
	CreatedAt time.Time `gorm:"not null;index:ix_blob_journal_created"`
}
