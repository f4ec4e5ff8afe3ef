package apikey_test

import (
	"context"
	"crypto/sha256"
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
	"realname/service/redisconn/redistest"
	"realname/service/store"
)

func TestKeyLifecycle(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		clk := clock.NewManual(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		db = db.Session(&gorm.Session{NowFunc: clk.Now})
		s := apikey.New(apikey.Deps{DB: db, Trail: store.New(db, clk, quiet), PerSecond: 1, Apps: []string{"wxa"}, Clock: clk, Log: quiet})
		for _, bad := range []struct {
			name   string
			scopes []string
		}{{"", []string{apikey.ScopeEventsRead}}, {"crm", nil}, {"crm", []string{"admin:all"}}, {strings.Repeat("x", 65), []string{apikey.ScopeEventsRead}}} {
			if _, _, err := s.Create(ctx, bad.name, bad.scopes, "", "test"); !errors.Is(err, apikey.ErrInvalid) {
				t.Errorf("Create(%q, %v) = %v", bad.name, bad.scopes, err)
			}
		}
		k, full, err := s.Create(ctx, "crm", []string{apikey.ScopeEventsRead, " ", apikey.ScopeEventsRead, apikey.ScopeVerificationsRead}, "", "admin:1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(full, k.Prefix+"_") || len(k.Scopes) != 2 || !k.Has(apikey.ScopeEventsRead) || k.Has(apikey.ScopeVerificationsWrite) {
			t.Fatalf("created %+v %q", k, full)
		}
		var row model.APIKey
		db.Take(&row, k.ID)
		sum := sha256.Sum256([]byte(full))
		if string(row.SecretHash) != string(sum[:]) || strings.Contains(row.Prefix+row.Scopes+row.Name, full[len(k.Prefix)+1:]) {
			t.Fatal("the secret is stored otherwise than as its hash")
		}
		got, err := s.Authenticate(ctx, full)
		if err != nil || got.ID != k.ID {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}
		other := "A" // the last character changed (a key may end in A)
		if strings.HasSuffix(full, other) {
			other = "B"
		}
		for _, bad := range []string{"", "rnk_", full[:len(full)-1] + other, strings.Replace(full, "rnk_", "rnx_", 1), full + "x", "Bearer " + full} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, apikey.ErrInvalidKey) {
				t.Errorf("Authenticate(%q) = %v", bad, err)
			}
		}
		if err := s.RecordUse(ctx, apikey.Use{KeyID: k.ID, Method: "GET", Route: "/server/v1/events", Status: 200, RequestID: "r1"}, nil); err != nil {
			t.Fatal(err)
		}
		if k2, _ := s.Find(ctx, k.ID); k2.LastUsedAt == nil {
			t.Error("last use not recorded")
		}
		if uses, _ := s.Uses(ctx, k.ID, 10); len(uses) != 1 || uses[0].Route != "/server/v1/events" {
			t.Errorf("uses %+v", uses)
		}
		if err := s.Revoke(ctx, k.ID, "admin:1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, full); !errors.Is(err, apikey.ErrInvalidKey) {
			t.Errorf("a revoked key authenticates: %v", err)
		}
		if err := s.Revoke(ctx, 9999, "admin:1"); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("revoke of no key: %v", err)
		}
		var trail []model.VerificationEvent
		db.Where("type LIKE ?", "api_key_%").Order("id").Find(&trail)
		if len(trail) != 2 || trail[0].Actor+" "+trail[0].Type != "admin:1 api_key_created" || trail[1].Actor+" "+trail[1].Type != "admin:1 api_key_revoked" {
			t.Errorf("audit %+v", trail)
		}
		clk.Advance(100 * 24 * time.Hour)
		if n, err := s.Prune(ctx, clk.Now().Add(-90*24*time.Hour)); err != nil || n != 1 {
			t.Errorf("prune: %d %v", n, err)
		}
	})
}

// TestRateIsSharedAcrossInstances: two instances of the service draw on
// one key's rate in Redis.
func TestRateIsSharedAcrossInstances(t *testing.T) {
	conn := redistest.Open(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, b := apikey.New(apikey.Deps{Redis: conn.Client, Prefix: conn.Prefix, PerSecond: 5, Clock: clock.System{}, Log: quiet}), apikey.New(apikey.Deps{Redis: conn.Client, Prefix: conn.Prefix, PerSecond: 5, Clock: clock.System{}, Log: quiet})
	allowed := 0
	var wait time.Duration
	for i := range 30 {
		s := a
		if i%2 == 1 {
			s = b
		}
		ok, w := s.Allow(context.Background(), 7)
		if ok {
			allowed++
		} else {
			wait = w
		}
	}
	// A burst of twice the rate, plus what trickles in meanwhile.
	if allowed < 10 || allowed > 13 || wait <= 0 {
		t.Errorf("%d of 30 allowed (burst 10), wait %v", allowed, wait)
	}
	if ok, _ := a.Allow(context.Background(), 8); !ok {
		t.Error("another key's rate is taken too")
	}
}
