package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/webhook"
	"realname/service/webhook/internal/whstore"
)

// TestFeedResumesExactlyOnce: three instances fan events out while
// writers add more; a reader pulls half, stops, and resumes from its
// cursor. It receives every event exactly once, in feed order.
func TestFeedResumesExactlyOnce(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ring := testRing(t)
		var instances []*webhook.Service
		var regs []*prometheus.Registry
		for range 3 {
			s, reg := newService(t, db, ring, fastOptions())
			run(t, s)
			instances, regs = append(instances, s), append(regs, reg)
		}
		const writers, each = 3, 60
		var wg sync.WaitGroup
		var mu sync.Mutex
		var written []string
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids := insertEvents(t, db, each, 3, 15*time.Millisecond)
				mu.Lock()
				written = append(written, ids...)
				mu.Unlock()
			}()
		}
		got := map[string]int{}
		var order []string
		// pull reads pages of 7 from cursor until it has want events or
		// time runs out, each page from a different instance.
		pull := func(cursor string, want int) string {
			deadline := time.Now().Add(30 * time.Second)
			after := int64(-1)
			if cursor != "" {
				json.Unmarshal([]byte(cursor), &after)
			}
			for i := 0; len(order) < want && time.Now().Before(deadline); i++ {
				page, err := instances[i%3].Feed(ctx, webhook.FeedQuery{After: after, Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				if page.Next < after {
					t.Fatalf("next went back: %d after %d", page.Next, after)
				}
				for _, raw := range page.Events {
					var ev struct{ ID, Type string }
					if err := json.Unmarshal(raw, &ev); err != nil || ev.ID == "" || ev.Type == "" {
						t.Fatalf("event body %s: %v", raw, err)
					}
					got[ev.ID]++
					order = append(order, ev.ID)
				}
				after = page.Next
				if len(page.Events) == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			b, _ := json.Marshal(after)
			return string(b)
		}
		cursor := pull("", writers*each/2) // stop halfway…
		mu.Lock()
		stillWriting := len(written) < writers*each
		mu.Unlock()
		if !stillWriting {
			t.Log("the writers finished before the reader stopped; the test still checks exactly-once")
		}
		wg.Wait()
		pull(cursor, writers*each) // …and resume from the cursor
		if len(order) != writers*each {
			t.Fatalf("received %d events, want %d", len(order), writers*each)
		}
		numbering := 0
		for _, reg := range regs {
			if counter(t, reg, "realname_webhook_events_fanned_out_total", nil) > 0 {
				numbering++
			}
		}
		if numbering < 2 {
			t.Errorf("only %d of 3 instances numbered events: the test did not make them compete", numbering)
		}
		for _, id := range written {
			if got[id] != 1 {
				t.Errorf("event %s received %d times", id, got[id])
			}
		}
		// Feed order is seq order: check against the stored numbers.
		var rows []model.WebhookEvent
		db.Where("seq IS NOT NULL").Order("seq").Find(&rows)
		for i := range rows {
			if i < len(order) && rows[i].ID != order[i] {
				t.Fatalf("event %d is %s in the feed but %s by seq", i, order[i], rows[i].ID)
			}
		}
		// A filter by type still moves the cursor to the end.
		page, err := instances[0].Feed(ctx, webhook.FeedQuery{After: 0, Limit: 500, Type: "user.data_erased"})
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Events {
			var ev struct{ Type string }
			json.Unmarshal(raw, &ev)
			if ev.Type != "user.data_erased" {
				t.Fatalf("filtered feed holds %s", ev.Type)
			}
		}
		if want := *rows[len(rows)-1].Seq; len(page.Events) < 500 && page.Next != want {
			t.Errorf("filtered next %d, want the end %d", page.Next, want)
		}
	})
}

// TestFeedCursorPastRetention: pruned events make older cursors expire.
func TestFeedCursorPastRetention(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		opts := fastOptions()
		opts.Retention = time.Hour
		s, _ := newService(t, db, testRing(t), opts)
		run(t, s)
		insertEvents(t, db, 10, 10, 0)
		eventually(t, 10*time.Second, "numbered", func() bool {
			p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 500})
			return err == nil && len(p.Events) == 10
		})
		// Age the first five past retention; no endpoint holds deliveries.
		var first []model.WebhookEvent
		db.Where("seq IS NOT NULL").Order("seq").Limit(5).Find(&first)
		old := time.Now().Add(-2 * time.Hour)
		for _, e := range first {
			db.Model(&model.WebhookEvent{}).Where("id = ?", e.ID).Select("created_at", "fanned_out_at").UpdateColumns(&model.WebhookEvent{CreatedAt: old, FannedOutAt: &old})
		}
		if _, err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Feed(ctx, webhook.FeedQuery{After: 0, Limit: 10}); !errors.Is(err, webhook.ErrCursorExpired) {
			t.Fatalf("a cursor from before the pruned events: %v", err)
		}
		p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 10})
		if err != nil || len(p.Events) != 5 {
			t.Fatalf("from the oldest kept: %d events, %v", len(p.Events), err)
		}
		if _, err := s.Feed(ctx, webhook.FeedQuery{After: *first[4].Seq, Limit: 10}); err != nil {
			t.Fatalf("a cursor at the pruned edge: %v", err)
		}
	})
}

// TestGoneDisablesTheEndpoint: 410 means stop (Standard Webhooks).
func TestGoneDisablesTheEndpoint(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		r := newReceiver(t)
		r.answer = func(w http.ResponseWriter, _ *http.Request) bool { w.WriteHeader(410); return true }
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: r.URL()})
		if err != nil {
			t.Fatal(err)
		}
		r.setSecrets(secret)
		run(t, s)
		if _, err := s.Ping(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the endpoint disabled", func() bool {
			e, err := s.Endpoint(ctx, ep.ID)
			return err == nil && !e.Enabled
		})
		e, _ := s.Endpoint(ctx, ep.ID)
		var d model.WebhookDelivery
		db.Where("endpoint_id = ?", ep.ID).Take(&d)
		if d.Status != whstore.Failed.String() || d.Attempts != 1 || e.DisabledReason == "" {
			t.Errorf("after 410: delivery %s (%d attempts), endpoint %+v", d.Status, d.Attempts, e)
		}
	})
}

// TestFeedWithoutItsCounter: a missing counter row neither stops fan-out
// nor breaks the feed.
func TestFeedWithoutItsCounter(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.Where("1 = 1").Delete(&model.EventSequence{}).Error; err != nil {
			t.Fatal(err)
		}
		s, _ := newService(t, db, testRing(t), fastOptions())
		if p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 10}); err != nil || len(p.Events) != 0 {
			t.Fatalf("empty feed: %+v %v", p, err)
		}
		run(t, s)
		insertEvents(t, db, 4, 4, 0)
		eventually(t, 10*time.Second, "numbered again", func() bool {
			p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 10})
			return err == nil && len(p.Events) == 4 && p.Next == 4
		})
	})
}

// TestFeedCursorAheadOfTheEnd: a cursor above the feed's head was never
// given by the feed (a typo, another deployment's cursor); it is refused
// instead of reading empty forever. The head itself is a valid cursor.
func TestFeedCursorAheadOfTheEnd(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		if _, err := s.Feed(ctx, webhook.FeedQuery{After: 0, Limit: 10}); err != nil {
			t.Fatalf("cursor 0 on an empty feed: %v", err)
		}
		if _, err := s.Feed(ctx, webhook.FeedQuery{After: 3, Limit: 10}); !errors.Is(err, webhook.ErrCursorAhead) {
			t.Fatalf("cursor 3 on an empty feed: %v", err)
		}
		run(t, s)
		insertEvents(t, db, 4, 4, 0)
		eventually(t, 10*time.Second, "numbered", func() bool {
			p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 10})
			return err == nil && p.Next == 4
		})
		if p, err := s.Feed(ctx, webhook.FeedQuery{After: 4, Limit: 10}); err != nil || len(p.Events) != 0 || p.Next != 4 {
			t.Fatalf("cursor at the head: %+v %v", p, err)
		}
		if _, err := s.Feed(ctx, webhook.FeedQuery{After: 5, Limit: 10}); !errors.Is(err, webhook.ErrCursorAhead) {
			t.Fatalf("cursor above the head: %v", err)
		}
	})
}
