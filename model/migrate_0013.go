package model

import (
	"encoding/json"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0013 binds API keys to an app: api_keys.app_id (an appid, "*"
// for every app, "" for a key made before this migration, which the
// configuration binds: see apikey), and webhook_events.app_id, the app of
// the user an event is about, so the feed filters by app in its WHERE.
// Events already stored get their app from their verification's user, or
// (user.data_erased, which has no verification) from their payload.
func migration0013() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0013_api_key_apps",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Migrator().AddColumn(&v13APIKey{}, "AppID"); err != nil {
				return err
			}
			if err := tx.Migrator().AddColumn(&v13WebhookEvent{}, "AppID"); err != nil {
				return err
			}
			if err := tx.Exec(`UPDATE webhook_events SET app_id = COALESCE((SELECT u.app_id FROM verifications v
				JOIN users u ON u.id = v.user_id WHERE v.id = webhook_events.verification_id), '')
				WHERE verification_id IS NOT NULL`).Error; err != nil {
				return err
			}
			if err := v13ErasedEventApps(tx); err != nil {
				return err
			}
			return tx.Migrator().CreateIndex(&v13WebhookEvent{}, "ix_webhook_events_app_seq")
		},
		Rollback: func(tx *gorm.DB) error {
			// The index first: SQLite refuses to drop an indexed column.
			if err := tx.Migrator().DropIndex(&v13WebhookEvent{}, "ix_webhook_events_app_seq"); err != nil {
				return err
			}
			// Plain DDL, as 0011: GORM's SQLite DropColumn copies the table
			// and loses its other indexes.
			if err := tx.Exec("ALTER TABLE webhook_events DROP COLUMN app_id").Error; err != nil {
				return err
			}
			return tx.Exec("ALTER TABLE api_keys DROP COLUMN app_id").Error
		},
	}
}

// v13ErasedEventApps fills the app of user.data_erased events from their
// payload's appid, a batch at a time.
func v13ErasedEventApps(tx *gorm.DB) error {
	last := ""
	for {
		var rows []struct{ ID, Payload string }
		if err := tx.Table("webhook_events").Select("id", "payload").Where("type = ? AND verification_id IS NULL AND id > ?",
			"user.data_erased", last).Order("id").Limit(500).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			var p struct {
				AppID string `json:"appid"`
			}
			if json.Unmarshal([]byte(r.Payload), &p) == nil && p.AppID != "" && len(p.AppID) <= 64 {
				if err := tx.Table("webhook_events").Where("id = ?", r.ID).Update("app_id", p.AppID).Error; err != nil {
					return err
				}
			}
		}
		last = rows[len(rows)-1].ID
	}
}

func (v13APIKey) TableName() string       { return "api_keys" }
func (v13WebhookEvent) TableName() string { return "webhook_events" }

// v13APIKey holds only the column this migration adds.
type v13APIKey struct {
	AppID string `gorm:"size:64;not null;default:''"`
}

// v13WebhookEvent holds the column this migration adds and the index it
// makes with seq.
type v13WebhookEvent struct {
	AppID string `gorm:"size:64;not null;default:'';index:ix_webhook_events_app_seq,priority:1"`
	Seq   *int64 `gorm:"index:ix_webhook_events_app_seq,priority:2"`
}
