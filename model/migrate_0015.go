package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0015 adds face verification (人脸核身): face_checks, one row per
// verify_id asked of WeChat and what it answered, and consents.kind, so
// the separate consent to a face check is recorded beside the card's.
func migration0015() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0015_face_checks",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().CreateTable(&v15FaceCheck{}); err != nil {
				return err
			}
			return tx.Migrator().AddColumn(&v15Consent{}, "Kind")
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("ALTER TABLE consents DROP COLUMN kind").Error; err != nil {
				return err
			}
			return tx.Exec("DROP TABLE face_checks").Error // plain DDL, as 0007
		},
	}
}

func (v15FaceCheck) TableName() string { return "face_checks" }
func (v15Consent) TableName() string   { return "consents" }

// v15FaceCheck is the table as this migration creates it.
type v15FaceCheck struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID *int64    `gorm:"index:ix_face_checks_verification"`
	StepUpID       *int64    `gorm:"index:ix_face_checks_stepup"`
	AppID          string    `gorm:"size:64;not null;uniqueIndex:ux_face_checks_seq,priority:1"`
	OutSeqNo       string    `gorm:"size:32;not null;uniqueIndex:ux_face_checks_seq,priority:2"`
	VerifyID       string    `gorm:"size:256;not null"`
	Provider       string    `gorm:"size:32;not null"`
	ConsentVersion string    `gorm:"size:32;not null"`
	ExpiresAt      time.Time `gorm:"not null"`
	VerifyRet      *int
	Outcome        string `gorm:"size:32;not null;default:''"`
	CreatedAt      time.Time
	DecidedAt      *time.Time
}

// v15Consent holds only the column this migration adds.
type v15Consent struct {
	Kind string `gorm:"size:16;not null;default:'idcard'"`
}
