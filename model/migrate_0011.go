package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0011 adds the server API: api_keys with the audit of their
// uses, and the event feed's order (webhook_events.seq and its counter).
// Events already stored stay outside the feed (no seq): the feed starts
// with the first fan-out after the upgrade.
func migration0011() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0011_server_api",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().CreateTable(&v11APIKey{}, &v11APIKeyUse{}, &v11EventSequence{}); err != nil {
				return err
			}
			if err := tx.Migrator().AddColumn(&v11WebhookEvent{}, "Seq"); err != nil {
				return err
			}
			if err := tx.Migrator().CreateIndex(&v11WebhookEvent{}, "ux_webhook_events_seq"); err != nil {
				return err
			}
			return tx.Create(&v11EventSequence{Name: "events"}).Error
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Migrator().DropIndex(&v11WebhookEvent{}, "ux_webhook_events_seq"); err != nil {
				return err
			}
			if err := tx.Exec("ALTER TABLE webhook_events DROP COLUMN seq").Error; err != nil {
				return err
			}
			for _, table := range []string{"event_sequences", "api_key_uses", "api_keys"} {
				if err := tx.Exec("DROP TABLE " + table).Error; err != nil { // plain DDL, as 0007
					return err
				}
			}
			return nil
		},
	}
}

func (v11APIKey) TableName() string        { return "api_keys" }
func (v11APIKeyUse) TableName() string     { return "api_key_uses" }
func (v11EventSequence) TableName() string { return "event_sequences" }
func (v11WebhookEvent) TableName() string  { return "webhook_events" }

// The tables as this migration creates them.
type v11APIKey struct {
	ID         int64  `gorm:"primaryKey"`
	Name       string `gorm:"size:64;not null"`
	Prefix     string `gorm:"size:24;not null;uniqueIndex:ux_api_keys_prefix"`
	SecretHash []byte `gorm:"size:32;not null"`
	Scopes     string `gorm:"size:128;not null"`
	CreatedBy  string `gorm:"size:64;not null"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

type v11APIKeyUse struct {
	ID             int64     `gorm:"primaryKey"`
	KeyID          int64     `gorm:"not null;index:ix_api_key_uses_key,priority:1"`
	At             time.Time `gorm:"not null;index:ix_api_key_uses_key,priority:2;index:ix_api_key_uses_at"`
	Method         string    `gorm:"size:8;not null"`
	Route          string    `gorm:"size:96;not null"`
	Status         int       `gorm:"not null"`
	RequestID      string    `gorm:"size:32;not null"`
	VerificationID *int64
}

type v11EventSequence struct {
	Name      string `gorm:"primaryKey;size:16"`
	LastSeq   int64  `gorm:"not null;default:0"`
	PrunedSeq int64  `gorm:"not null;default:0"`
}

type v11WebhookEvent struct {
	Seq *int64 `gorm:"uniqueIndex:ux_webhook_events_seq"`
}
