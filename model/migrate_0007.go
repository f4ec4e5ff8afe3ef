package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0007 adds the photos table: sealed ID-card photos kept in the
// database (REALNAME_BLOB_URL=sql, the default on PostgreSQL and MySQL), so
// every instance sees every photo and a photo is written, erased and
// expired in the same transaction as the verification that names it.
func migration0007() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0007_photos",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateTable(&v7Photo{})
		},
		Rollback: func(tx *gorm.DB) error {
			// Plain DDL: gorm's MySQL DropTable opens a connection of its
			// own, which the migration lock's connection cannot.
			return tx.Exec("DROP TABLE photos").Error
		},
	}
}

func (v7Photo) TableName() string { return "photos" }

// v7Photo is the table as this migration creates it.
type v7Photo struct {
	Ref       string    `gorm:"primaryKey;size:32"`
	Data      []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}
