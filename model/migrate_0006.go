package model

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0006 keeps each verification's audit-chain head on its row
// (chain_head), filled from the events already written. Appending an event
// then needs no locking read of verification_events, whose gap locks made
// concurrent flows deadlock on MariaDB.
func migration0006() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0006_verification_chain_head",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().AddColumn(&v6Verification{}, "ChainHead"); err != nil {
				return err
			}
			return tx.Exec(`UPDATE verifications SET chain_head = COALESCE((SELECT e.hash FROM verification_events e
				WHERE e.verification_id = verifications.id ORDER BY e.id DESC LIMIT 1), '')`).Error
		},
		Rollback: func(tx *gorm.DB) error {
			// Plain DDL: gorm's SQLite DropColumn rebuilds the table and
			// loses its indexes, which earlier rollbacks then cannot find.
			return tx.Exec("ALTER TABLE verifications DROP COLUMN chain_head").Error
		},
	}
}

func (v6Verification) TableName() string { return "verifications" }

// v6Verification holds the column this migration adds.
type v6Verification struct {
	ChainHead string `gorm:"size:64;not null;default:''"`
}
