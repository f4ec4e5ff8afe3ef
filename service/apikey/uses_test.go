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
	"realname/service/redisconn/redistest"
	"realname/service/store"
)

// TestRefusalsAreCounted: 1000 requests of a key over its rate, half of
// them without the scope, write a bounded number of rows: a use per
// request let through (the rate bounds those), one count per key, minute
// and kind for the refused, which adds up to them.
func TestRefusalsAreCounted(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		clk := clock.NewManual(time.Date(2026, 12, 1, 8, 0, 30, 0, time.UTC))
		conn := redistest.Open(t)
		s := apikey.New(apikey.Deps{DB: db, Trail: store.New(db, clk, quiet), Redis: conn.Client, Prefix: conn.Prefix, PerSecond: 1, Apps: []string{"wxa"}, Clock: clk, Log: quiet})
		k, _, err := s.Create(ctx, "crm", []string{apikey.ScopeEventsRead}, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		admitted, limited, scoped := 0, 0, 0
		for i := range 1000 {
			scope := apikey.ScopeEventsRead
			if i%2 == 1 {
				scope = apikey.ScopeVerificationsWrite
			}
			var lim *apikey.LimitError
			switch err := s.Admit(ctx, k, scope); {
			case err == nil:
				admitted++
				if err := s.RecordUse(ctx, apikey.Use{KeyID: k.ID, Method: "GET", Route: "/server/v1/events", Status: 200, RequestID: "r"}, nil); err != nil {
					t.Fatal(err)
				}
			case errors.As(err, &lim) && lim.RetryAfter > 0:
				limited++
			case errors.Is(err, apikey.ErrScope):
				scoped++
			default:
				t.Fatalf("request %d: %v", i, err)
			}
		}
		var uses, refusalRows int64
		db.Model(&model.APIKeyUse{}).Count(&uses)
		db.Model(&model.APIKeyRefusal{}).Count(&refusalRows)
		if admitted+scoped > 10 || limited < 980 || uses != int64(admitted) || refusalRows > 2 {
			t.Fatalf("%d admitted, %d over the rate, %d without scope: %d use rows, %d refusal rows", admitted, limited, scoped, uses, refusalRows)
		}
		counts := map[string]int64{}
		rows, err := s.Refusals(ctx, k.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			counts[r.Kind] += r.Requests
			if !r.Minute.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
				t.Errorf("refusals counted in minute %v", r.Minute)
			}
		}
		if counts[apikey.RefusedRate] != int64(limited) || counts[apikey.RefusedScope] != int64(scoped) {
			t.Errorf("counted %v, refused %d over the rate and %d without scope", counts, limited, scoped)
		}

		// The next minute has its own count; retention prunes both kinds of row.
		clk.Advance(time.Minute)
		for s.Admit(ctx, k, apikey.ScopeEventsRead) == nil {
		}
		if rows, _ := s.Refusals(ctx, k.ID, 10); len(rows) != len(counts)+1 || rows[0].Requests != 1 {
			t.Errorf("after a minute: %+v", rows)
		}
		clk.Advance(91 * 24 * time.Hour)
		if n, err := s.Prune(ctx, clk.Now().Add(-90*24*time.Hour)); err != nil || n != uses+refusalRows+1 {
			t.Errorf("prune: %d of %d rows, %v", n, uses+refusalRows+1, err)
		}
	})
}
