package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0009 adds notifications: messages to the user (WeChat
// subscription messages when a review ends), queued by the step that
// decides and sent by a courier that retries; and verifications.user_note,
// the reviewer's words to the user.
func migration0009() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0009_notifications",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().CreateTable(&v9Notification{}); err != nil {
				return err
			}
			return tx.Migrator().AddColumn(&v9Verification{}, "UserNote")
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("ALTER TABLE verifications DROP COLUMN user_note").Error; err != nil {
				return err
			}
			return tx.Exec("DROP TABLE notifications").Error // plain DDL, as 0007
		},
	}
}

func (v9Notification) TableName() string { return "notifications" }

// v9Notification is the table as this migration creates it.
type v9Notification struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID int64     `gorm:"not null;index:ix_notifications_verification"`
	UserID         int64     `gorm:"not null"`
	Kind           string    `gorm:"size:32;not null"`
	Status         string    `gorm:"size:16;not null;index:ix_notifications_due,priority:1"`
	Attempts       int       `gorm:"not null;default:0"`
	NextAttemptAt  time.Time `gorm:"not null;index:ix_notifications_due,priority:2"`
	LeaseUntil     *time.Time
	LastError      string `gorm:"size:256;not null;default:''"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (v9Verification) TableName() string { return "verifications" }

// v9Verification holds only the column this migration adds.
type v9Verification struct {
	UserNote string `gorm:"size:1000;not null;default:''"`
}
