package model

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0010 adds admin_users.language: the console language a staff
// member chose, which wins over their browser's.
func migration0010() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0010_admin_language",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().AddColumn(&v10AdminUser{}, "Language")
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Exec("ALTER TABLE admin_users DROP COLUMN language").Error
		},
	}
}

func (v10AdminUser) TableName() string { return "admin_users" }

// v10AdminUser holds only the column this migration adds.
type v10AdminUser struct {
	Language string `gorm:"size:8;not null;default:''"`
}
