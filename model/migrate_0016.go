package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0016 adds step_ups: a business system's request that a
// verified user prove, by a face check, that they are the holder before a
// sensitive action.
func migration0016() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0016_step_ups",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateTable(&v16StepUp{})
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Exec("DROP TABLE step_ups").Error // plain DDL, as 0007
		},
	}
}

func (v16StepUp) TableName() string { return "step_ups" }

// v16StepUp is the table as this migration creates it.
type v16StepUp struct {
	ID             int64     `gorm:"primaryKey"`
	PublicID       string    `gorm:"size:40;not null;uniqueIndex:ux_step_ups_public"`
	UserID         int64     `gorm:"not null;index:ix_step_ups_user"`
	VerificationID int64     `gorm:"not null;index:ix_step_ups_verification"`
	AppID          string    `gorm:"size:64;not null"`
	Action         string    `gorm:"size:64;not null"`
	State          string    `gorm:"size:16;not null"`
	Reason         string    `gorm:"size:64;not null;default:''"`
	CreatedBy      string    `gorm:"size:64;not null"`
	ExpiresAt      time.Time `gorm:"not null"`
	CompletedAt    *time.Time
	CreatedAt      time.Time `gorm:"not null"`
}
