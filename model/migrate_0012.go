package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0012 takes free text out of the audit chain: event_texts holds
// reviewers' notes and revoke reasons sealed, the chained events only their
// keyed digest, and verifications.user_note_digest names the note the user
// reads, so erasure can delete the words without breaking the chain.
// Notes written before it stay as they were (their events are chained).
func migration0012() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0012_event_texts",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().CreateTable(&v12EventText{}); err != nil {
				return err
			}
			return tx.Migrator().AddColumn(&v12Verification{}, "UserNoteDigest")
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("ALTER TABLE verifications DROP COLUMN user_note_digest").Error; err != nil {
				return err
			}
			return tx.Exec("DROP TABLE event_texts").Error // plain DDL, as 0007
		},
	}
}

func (v12EventText) TableName() string    { return "event_texts" }
func (v12Verification) TableName() string { return "verifications" }

// v12EventText is the table as this migration creates it.
type v12EventText struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID int64     `gorm:"not null;uniqueIndex:ux_event_texts_digest,priority:1"`
	Digest         string    `gorm:"size:64;not null;uniqueIndex:ux_event_texts_digest,priority:2"`
	TextEnc        []byte    `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

// v12Verification holds only the column this migration adds.
type v12Verification struct {
	UserNoteDigest string `gorm:"size:64;not null;default:''"`
}
