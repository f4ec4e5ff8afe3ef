package apikey_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// TestKeysAreBoundToAnApp: with one app configured a key without an app
// is that app's; with several the app must be named (or all apps chosen
// explicitly); a key made before keys had an app is the one app's, or
// reaches every app when there are several, marked as such.
func TestKeysAreBoundToAnApp(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		clk := clock.NewManual(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		st := store.New(db, clk, quiet)
		one := apikey.New(apikey.Deps{DB: db, Trail: st, PerSecond: 1, Apps: []string{"wxa"}, Clock: clk, Log: quiet})
		two := apikey.New(apikey.Deps{DB: db, Trail: st, PerSecond: 1, Apps: []string{"wxa", "wxb"}, Clock: clk, Log: quiet})
		scopes := []string{apikey.ScopeEventsRead}

		k, full, err := one.Create(ctx, "crm", scopes, "", "cli")
		if err != nil || k.AppID != "wxa" || k.Legacy || k.Within() != "wxa" {
			t.Fatalf("one app, none named: %+v %v", k, err)
		}
		if got, err := two.Authenticate(ctx, full); err != nil || got.Within() != "wxa" {
			t.Fatalf("the key of wxa with two apps configured: %+v %v", got, err)
		}
		for _, app := range []string{"", "wxc", " "} {
			if _, _, err := two.Create(ctx, "crm", scopes, app, "cli"); !errors.Is(err, apikey.ErrInvalid) {
				t.Errorf("two apps, app %q: %v", app, err)
			}
		}
		if k, _, err := two.Create(ctx, "crm", scopes, "wxb", "cli"); err != nil || k.Within() != "wxb" {
			t.Errorf("two apps, wxb: %+v %v", k, err)
		}
		all, _, err := two.Create(ctx, "bi", scopes, apikey.AllApps, "admin:1")
		if err != nil || !all.EveryApp() || all.Within() != "" || all.Legacy {
			t.Errorf("all apps: %+v %v", all, err)
		}

		old := model.APIKey{Name: "old", Prefix: "rnk_00000000aa", SecretHash: make([]byte, 32), Scopes: "events:read",
			CreatedBy: "cli", CreatedAt: clk.Now()}
		if err := db.Create(&old).Error; err != nil {
			t.Fatal(err)
		}
		if k, err := one.Find(ctx, old.ID); err != nil || !k.Legacy || k.Within() != "wxa" {
			t.Errorf("an old key with one app: %+v %v", k, err)
		}
		if k, err := two.Find(ctx, old.ID); err != nil || !k.Legacy || !k.EveryApp() {
			t.Errorf("an old key with two apps: %+v %v", k, err)
		}
		var trail model.VerificationEvent
		db.Where("type = ?", apikey.EventCreated).Order("id DESC").Take(&trail)
		if trail.Actor != "admin:1" || !strings.Contains(trail.Data, `"app":"*"`) {
			t.Errorf("the audit entry of the all-apps key: %+v", trail)
		}
	})
}
