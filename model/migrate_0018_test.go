package model_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"realname/model"
	"realname/model/modeltest"
)

// TestMigration0018NotifiesTheOutboxAtCommit: on PostgreSQL, a committed
// insert of webhook events wakes the listeners of model.OutboxWakeChannel
// with no pg_notify of the writer's own.
func TestMigration0018NotifiesTheOutboxAtCommit(t *testing.T) {
	for _, b := range modeltest.Backends() {
		if b.Name != model.DialectPostgres {
			continue
		}
		db, dsn := modeltest.OpenDSN(t, b, true)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{model.OutboxWakeChannel}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
		if err := db.Exec("INSERT INTO webhook_events (id, type, payload, created_at, app_id) VALUES (?, ?, ?, ?, ?)",
			"evt_trigger", "ping", "{}", now, "wxa").Error; err != nil {
			t.Fatal(err)
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != model.OutboxWakeChannel || n.Payload != "outbox" {
			t.Fatalf("notification %+v", n)
		}
	}
}
