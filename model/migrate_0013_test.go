package model_test

import (
	"context"
	"testing"
	"time"

	"realname/model"
	"realname/model/modeltest"
)

// TestMigration0013GivesStoredEventsTheirApp: events stored before keys
// were bound to apps get the app of their user (verification events
// through the verification, user.data_erased from its payload); a ping
// stays without one, and an existing key is left unbound for the
// configuration to decide.
func TestMigration0013GivesStoredEventsTheirApp(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := modeltest.Open(t, b, false)
			if err := model.MigrateTo(ctx, db, "0011_server_api"); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
			inserts := []struct {
				table string
				row   map[string]any
			}{
				{"users", map[string]any{"id": 1, "app_id": "wxa", "open_id": "oa", "created_at": now, "updated_at": now}},
				{"verifications", map[string]any{"id": 7, "user_id": 1, "state": "verified", "version": 3, "mode": "photo",
					"created_at": now, "updated_at": now}},
				{"webhook_events", map[string]any{"id": "evt_v", "type": "verification.verified", "verification_id": 7,
					"payload": `{"appid":"wxa"}`, "created_at": now}},
				{"webhook_events", map[string]any{"id": "evt_e", "type": "user.data_erased",
					"payload": `{"appid":"wxb","openid":"ob"}`, "created_at": now}},
				{"webhook_events", map[string]any{"id": "evt_p", "type": "ping", "payload": `{}`, "created_at": now}},
				{"api_keys", map[string]any{"id": 1, "name": "crm", "prefix": "rnk_0123456789", "secret_hash": make([]byte, 32),
					"scopes": "events:read", "created_by": "cli", "created_at": now}},
			}
			for _, in := range inserts {
				if err := db.Table(in.table).Create(in.row).Error; err != nil {
					t.Fatalf("%s: %v", in.table, err)
				}
			}
			if err := model.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			var events []model.WebhookEvent
			db.Order("id").Find(&events)
			got := map[string]string{}
			for _, e := range events {
				got[e.ID] = e.AppID
			}
			if got["evt_v"] != "wxa" || got["evt_e"] != "wxb" || got["evt_p"] != "" || len(got) != 3 {
				t.Errorf("event apps %v", got)
			}
			var key model.APIKey
			if err := db.Take(&key, 1).Error; err != nil || key.AppID != "" {
				t.Errorf("existing key %+v %v", key, err)
			}
			if !db.Migrator().HasIndex(&model.WebhookEvent{}, "ix_webhook_events_app_seq") {
				t.Error("index ix_webhook_events_app_seq missing")
			}
		})
	}
}
