package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0003 adds what the webhook dispatcher needs: a fan-out mark on
// outbox events, a fencing token on deliveries, and secret rotation and the
// configured-endpoint key on endpoints.
func migration0003() *gormigrate.Migration {
	type change struct {
		table   any
		columns []string
		indexes []string
	}
	changes := []change{
		{&v3WebhookEvent{}, []string{"FannedOutAt"}, []string{"ix_webhook_events_fanout"}},
		{&v3WebhookDelivery{}, []string{"LeaseID"}, nil},
		{&v3WebhookEndpoint{}, []string{"PrevSecretEnc", "PrevSecretUntil", "ConfigKey"}, []string{"ux_webhook_endpoints_config_key"}},
	}
	return &gormigrate.Migration{
		ID: "0003_webhooks",
		Migrate: func(tx *gorm.DB) error {
			for _, c := range changes {
				for _, col := range c.columns {
					if err := tx.Migrator().AddColumn(c.table, col); err != nil {
						return err
					}
				}
				for _, idx := range c.indexes {
					if err := tx.Migrator().CreateIndex(c.table, idx); err != nil {
						return err
					}
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			// Indexes first: SQLite refuses to drop an indexed column.
			for _, c := range changes {
				for _, idx := range c.indexes {
					if err := tx.Migrator().DropIndex(c.table, idx); err != nil {
						return err
					}
				}
				for _, col := range c.columns {
					if err := tx.Migrator().DropColumn(c.table, col); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

func (v3WebhookEvent) TableName() string    { return "webhook_events" }
func (v3WebhookDelivery) TableName() string { return "webhook_deliveries" }
func (v3WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// v3WebhookEvent holds the new column and the existing one its index spans.
type v3WebhookEvent struct {
	CreatedAt   time.Time  `gorm:"not null;index:ix_webhook_events_fanout,priority:2"`
	FannedOutAt *time.Time `gorm:"index:ix_webhook_events_fanout,priority:1"`
}

// v3WebhookDelivery holds only the column this migration adds.
type v3WebhookDelivery struct {
	LeaseID string `gorm:"size:32;not null;default:''"`
}

// v3WebhookEndpoint holds only the columns this migration adds.
type v3WebhookEndpoint struct {
	PrevSecretEnc   []byte
	PrevSecretUntil *time.Time
	ConfigKey       *string `gorm:"size:32;uniqueIndex:ux_webhook_endpoints_config_key"`
}
