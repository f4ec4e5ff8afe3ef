package apikey_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
	"realname/service/store/storetest"
)

// TestNoKeyUnrecorded: a key's row and its audit action commit together,
// in the store's transaction with its retry, on every backend: a key whose
// action cannot be written is neither made nor revoked, and a retried
// transaction makes or revokes it once, recorded once.
func TestNoKeyUnrecorded(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		clk := clock.NewManual(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		trail := &storetest.FlakyTrail{Store: store.New(db, clk, quiet)}
		s := apikey.New(apikey.Deps{DB: db, Trail: trail, PerSecond: 1, Apps: []string{"wxa"}, Clock: clk, Log: quiet})
		scopes := []string{apikey.ScopeEventsRead}
		k, _, err := s.Create(ctx, "crm", scopes, "", "admin:1")
		if err != nil {
			t.Fatal(err)
		}
		broken := errors.New("the audit trail is unavailable")
		trail.Fail = broken
		if _, _, err := s.Create(ctx, "erp", scopes, "", "admin:1"); !errors.Is(err, broken) {
			t.Fatalf("create without its audit: %v", err)
		}
		if err := s.Revoke(ctx, k.ID, "admin:1"); !errors.Is(err, broken) {
			t.Fatalf("revoke without its audit: %v", err)
		}
		if keys, _ := s.List(ctx); len(keys) != 1 || keys[0].RevokedAt != nil {
			t.Fatalf("unrecorded changes stayed: %+v", keys)
		}
		trail.Fail, trail.Conflicts = nil, 1
		if _, _, err := s.Create(ctx, "erp", scopes, "", "admin:1"); err != nil {
			t.Fatalf("create retried: %v", err)
		}
		trail.Conflicts = 1
		if err := s.Revoke(ctx, k.ID, "admin:1"); err != nil {
			t.Fatalf("revoke retried: %v", err)
		}
		keys, _ := s.List(ctx)
		var created, revoked int64
		db.Model(&model.VerificationEvent{}).Where("type = ?", apikey.EventCreated).Count(&created)
		db.Model(&model.VerificationEvent{}).Where("type = ?", apikey.EventRevoked).Count(&revoked)
		if len(keys) != 2 || keys[1].ID != k.ID || keys[1].RevokedAt == nil || created != 2 || revoked != 1 {
			t.Fatalf("after retried transactions: keys %+v, %d created and %d revoked events", keys, created, revoked)
		}
	})
}
