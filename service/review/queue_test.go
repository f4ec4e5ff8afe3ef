package review

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
	"realname/service/verify"
)

func TestQueueKeysetAndFilters(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		base := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
		var want []int64
		for i := range 23 {
			// Pairs share a timestamp, so the id must break ties.
			at := base.Add(time.Duration(i/2) * time.Minute)
			s := seed{reason: verify.ReasonNoRecord, updatedAt: at}
			if i%5 == 0 {
				s.reason, s.provider = verify.ReasonSourceUnavailable, "wechat"
			}
			want = append(want, f.seedCase(t, s).ID)
		}
		f.seedCase(t, seed{state: store.Verified, updatedAt: base})
		special := f.seedCase(t, seed{state: store.Rejected, reason: verify.ReasonMismatch, openid: "o-special",
			number: "11010119900307001X", updatedAt: base.Add(-48 * time.Hour)})

		var got []int64
		var after *Cursor
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			page, err := f.svc.Queue(ctx, QueueFilter{Limit: 5, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if it.State != string(store.Review) || it.OpenID == "" || it.NameMasked != "张*" {
					t.Fatalf("item %+v", it)
				}
				got = append(got, it.ID)
			}
			if page.Next == nil {
				break
			}
			c, err := ParseCursor(page.Next.String())
			if err != nil {
				t.Fatal(err)
			}
			after = &c
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("paged ids\n got %v\nwant %v", got, want)
		}

		count := func(f2 QueueFilter) int {
			t.Helper()
			f2.Limit = 200
			page, err := f.svc.Queue(ctx, f2)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Items)
		}
		for name, tc := range map[string]struct {
			f    QueueFilter
			want int
		}{
			"reason":        {QueueFilter{Reason: verify.ReasonSourceUnavailable}, 5},
			"provider":      {QueueFilter{Provider: "wechat"}, 5},
			"any state":     {QueueFilter{State: StateAny}, 25},
			"verified":      {QueueFilter{State: string(store.Verified)}, 1},
			"date range":    {QueueFilter{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)}, 4},
			"openid":        {QueueFilter{State: StateAny, OpenID: " o-special "}, 1},
			"id number":     {QueueFilter{State: StateAny, IDNumber: "11010119900307001x"}, 1},
			"unknown num":   {QueueFilter{State: StateAny, IDNumber: "110101199003070000"}, 0},
			"num in review": {QueueFilter{IDNumber: "11010119900307001X"}, 0},
		} {
			if n := count(tc.f); n != tc.want {
				t.Errorf("%s: %d cases, want %d", name, n, tc.want)
			}
		}
		page, _ := f.svc.Queue(ctx, QueueFilter{State: StateAny, OpenID: "o-special"})
		if len(page.Items) != 1 || page.Items[0].ID != special.ID {
			t.Fatalf("openid search: %+v", page.Items)
		}
	})
}

// TestQueuePlanUsesIndex checks that the queue page walks
// ix_verifications_queue instead of sorting the table, so a deep page costs
// what the first one does.
func TestQueuePlanUsesIndex(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		for range 10 {
			f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		}
		// Decided cases outnumber the queue by far, as in production; with
		// a handful of rows a server's planner rightly prefers scanning the
		// table. (SQLite picks the index anyway, and inserts slowly under -race.)
		n := 3000
		if db.Name() == model.DialectSQLite {
			n = 0
		}
		bulk := make([]model.Verification, n)
		for i := range bulk {
			at := time.Now().UTC().Add(-time.Duration(i) * time.Second).Truncate(time.Millisecond)
			bulk[i] = model.Verification{UserID: 1, State: store.Verified, Version: 3, Mode: "photo", CreatedAt: at, UpdatedAt: at}
		}
		if err := db.CreateInBatches(bulk, 500).Error; n > 0 && err != nil {
			t.Fatal(err)
		}
		if db.Name() != model.DialectSQLite {
			db.Exec("ANALYZE " + map[string]string{model.DialectPostgres: "", model.DialectMySQL: "TABLE "}[db.Name()] + "verifications")
		}
		cur := Cursor{UpdatedAt: time.Now().Add(-time.Hour), ID: 3}
		query := db.ToSQL(func(tx *gorm.DB) *gorm.DB {
			return f.svc.queueQuery(tx, QueueFilter{Limit: 50, After: &cur}).Find(&[]model.Verification{})
		})
		var plan []string
		switch db.Name() {
		case model.DialectSQLite:
			var rows []struct{ Detail string }
			if err := db.Raw("EXPLAIN QUERY PLAN " + query).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
		case model.DialectPostgres:
			err := db.Transaction(func(tx *gorm.DB) error {
				// The test table is still small: forbid the sequential scan a
				// planner may pick for it, and see which index it uses.
				if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
					return err
				}
				return tx.Raw("EXPLAIN " + query).Scan(&plan).Error
			})
			if err != nil {
				t.Fatal(err)
			}
		case model.DialectMySQL:
			var rows []map[string]any
			if err := db.Raw("EXPLAIN " + query).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				plan = append(plan, fmt.Sprint(r["key"]))
			}
		}
		joined := strings.Join(plan, " | ")
		t.Logf("plan: %s", joined)
		if !strings.Contains(joined, "ix_verifications_queue") {
			t.Fatalf("queue query does not use ix_verifications_queue:\n%s\n%s", query, joined)
		}
		if db.Name() == model.DialectPostgres && !strings.Contains(joined, "Index Cond: (((state)::text = 'review'::text) AND (updated_at >=") {
			t.Fatalf("the cursor does not bound the index scan: %s", joined)
		}
		if db.Name() == model.DialectSQLite && strings.Contains(joined, "TEMP B-TREE") {
			t.Fatalf("queue query sorts instead of walking the index: %s", joined)
		}
	})
}
