package model

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0017 adds webhook_events.trace_parent: the W3C traceparent of
// the step that wrote the event, when it was traced, so each delivery's
// span links back to the request that caused it however much later, and
// on whichever instance, it goes out. Random ids only: no personal data.
func migration0017() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0017_webhook_event_trace_parent",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().AddColumn(&v17WebhookEvent{}, "TraceParent")
		},
		Rollback: func(tx *gorm.DB) error {
			return tx.Exec("ALTER TABLE webhook_events DROP COLUMN trace_parent").Error // plain DDL, as 0006
		},
	}
}

func (v17WebhookEvent) TableName() string { return "webhook_events" }

// v17WebhookEvent holds only the column this migration adds.
type v17WebhookEvent struct {
	TraceParent string `gorm:"size:64;not null;default:''"`
}
