package model

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// OutboxWakeChannel is the PostgreSQL channel migration 0018's trigger
// notifies, payload "outbox", when a statement inserts webhook events.
// NOTIFY reaches the listeners of the same database only, so the channel
// needs no deployment prefix.
const OutboxWakeChannel = "realname_outbox_wake"

// migration0018 has PostgreSQL raise the outbox wake-up itself: a
// statement-level trigger on webhook_events NOTIFYs at the insert, which
// the server delivers at commit, instead of the writer sending its own
// pg_notify: one statement less for every step that writes an outbox row.
// Nothing on MySQL and SQLite, whose wake-ups travel through Redis.
func migration0018() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0018_outbox_wake_trigger",
		Migrate: func(tx *gorm.DB) error {
			if tx.Name() != DialectPostgres {
				return nil
			}
			// Two statements: pgx prepares each, and a prepared statement
			// holds one command.
			if err := tx.Exec(`CREATE OR REPLACE FUNCTION realname_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM pg_notify('` + OutboxWakeChannel + `', 'outbox');
	RETURN NULL;
END
$fn$`).Error; err != nil {
				return err
			}
			return tx.Exec(`CREATE TRIGGER webhook_events_outbox_wake AFTER INSERT ON webhook_events
FOR EACH STATEMENT EXECUTE FUNCTION realname_outbox_wake()`).Error
		},
		Rollback: func(tx *gorm.DB) error {
			if tx.Name() != DialectPostgres {
				return nil
			}
			if err := tx.Exec("DROP TRIGGER IF EXISTS webhook_events_outbox_wake ON webhook_events").Error; err != nil {
				return err
			}
			return tx.Exec("DROP FUNCTION IF EXISTS realname_outbox_wake()").Error
		},
	}
}
