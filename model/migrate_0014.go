package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0014 adds api_key_refusals: the requests of a key refused
// before they ran (rate limited, missing scope), counted per key, minute
// and kind instead of a use row per request, so a client hammering over
// its limit cannot grow the database.
func migration0014() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0014_api_key_refusals",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateTable(&v14APIKeyRefusal{})
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Exec("DROP TABLE api_key_refusals").Error // plain DDL, as 0007
		},
	}
}

func (v14APIKeyRefusal) TableName() string { return "api_key_refusals" }

// v14APIKeyRefusal is the table as this migration creates it.
type v14APIKeyRefusal struct {
	ID       int64     `gorm:"primaryKey"`
	KeyID    int64     `gorm:"not null;uniqueIndex:ux_api_key_refusals,priority:1"`
	Minute   time.Time `gorm:"not null;uniqueIndex:ux_api_key_refusals,priority:2;index:ix_api_key_refusals_minute"`
	Kind     string    `gorm:"size:32;not null;uniqueIndex:ux_api_key_refusals,priority:3"`
	Requests int64     `gorm:"not null;default:0"`
}
