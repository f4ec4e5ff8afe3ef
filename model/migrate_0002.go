package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0002 adds what the verification flow needs: consent records,
// ID-number bindings, and photo hashes / erasure marks on verifications.
func migration0002() *gormigrate.Migration {
	columns := []string{"FrontHash", "BackHash", "ConsentVersion", "PhotosDeletedAt", "ErasedAt"}
	return &gormigrate.Migration{
		ID: "0002_flow",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().CreateTable(&v2Consent{}, &v2IDBinding{}); err != nil {
				return err
			}
			for _, c := range columns {
				if err := tx.Migrator().AddColumn(&v2Verification{}, c); err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, c := range columns {
				if err := tx.Migrator().DropColumn(&v2Verification{}, c); err != nil {
					return err
				}
			}
			for _, t := range []string{"id_bindings", "consents"} {
				if err := tx.Exec("DROP TABLE IF EXISTS " + t).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (v2Consent) TableName() string      { return "consents" }
func (v2IDBinding) TableName() string    { return "id_bindings" }
func (v2Verification) TableName() string { return "verifications" }

type v2Consent struct {
	ID        int64     `gorm:"primaryKey"`
	UserID    int64     `gorm:"not null;index:ix_consents_user"`
	Version   string    `gorm:"size:32;not null"`
	AgreedAt  time.Time `gorm:"not null"`
	CreatedAt time.Time
}

type v2IDBinding struct {
	ID             int64  `gorm:"primaryKey"`
	IDNumberHash   []byte `gorm:"size:32;not null;uniqueIndex:ux_id_bindings_hash_slot,priority:1"`
	Slot           int    `gorm:"not null;uniqueIndex:ux_id_bindings_hash_slot,priority:2"`
	UserID         int64  `gorm:"not null;index:ix_id_bindings_user"`
	VerificationID int64  `gorm:"not null"`
	CreatedAt      time.Time
}

// v2Verification holds only the columns this migration adds.
type v2Verification struct {
	FrontHash       []byte `gorm:"size:32"`
	BackHash        []byte `gorm:"size:32"`
	ConsentVersion  string `gorm:"size:32;not null;default:''"`
	PhotosDeletedAt *time.Time
	ErasedAt        *time.Time
}
