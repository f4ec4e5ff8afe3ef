package webhook_test

import (
	"context"
	"testing"
	"time"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/redisconn/redistest"
	"realname/service/webhook"
)

// TestFeedLongPoll: a reader waiting on one instance (whose dispatcher is
// off, so only another instance's fan-out can number the event) gets the
// event written on a third path within the wait, not at its deadline; a
// wait with nothing coming ends with the empty page at the deadline.
func TestFeedLongPoll(t *testing.T) {
	for _, b := range modeltest.Backends() {
		if b.Name == model.DialectSQLite {
			continue // one instance only
		}
		t.Run(b.Name, func(t *testing.T) {
			_, dsn := modeltest.OpenDSN(t, b, true)
			rdb, ring := redistest.Open(t), testRing(t)
			reader := newInstance(t, dsn, rdb, ring, false) // its fan-out stays off
			newInstance(t, dsn, rdb, ring, true)            // numbers events into the feed
			ctx := context.Background()

			head, err := reader.hooks.Feed(ctx, webhook.FeedQuery{After: -1})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			empty, err := reader.hooks.FeedWait(ctx, webhook.FeedQuery{After: head.Next}, 300*time.Millisecond)
			if err != nil || len(empty.Events) != 0 || time.Since(start) < 300*time.Millisecond || empty.Next != head.Next {
				t.Fatalf("a wait with nothing coming: %d events, next %d, after %v, %v", len(empty.Events), empty.Next, time.Since(start), err)
			}

			got := make(chan webhook.FeedPage, 1)
			go func() {
				page, err := reader.hooks.FeedWait(ctx, webhook.FeedQuery{After: head.Next}, 20*time.Second)
				if err != nil {
					t.Error(err)
				}
				got <- page
			}()
			time.Sleep(200 * time.Millisecond) // the reader is waiting
			start = time.Now()
			reader.emit(t) // written through the store, numbered by the other instance
			select {
			case page := <-got:
				if len(page.Events) != 1 || page.Next <= head.Next {
					t.Fatalf("long-poll answer: %d events, next %d", len(page.Events), page.Next)
				}
				t.Logf("%s: commit to the long-poll's answer %v", b.Name, time.Since(start).Round(time.Millisecond))
			case <-time.After(10 * time.Second):
				t.Fatal("the long-poll was not answered when the event joined the feed")
			}
		})
	}
}
