package webhook_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/webhook"
)

// TestFeedOfOneApp: a reader limited to one app pages through the feed
// and receives that app's events only, every one of them in order, while
// its cursor still moves to the head past the other app's.
func TestFeedOfOneApp(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		run(t, s)
		want := map[string][]string{}
		var rows []model.WebhookEvent
		for i := range 12 {
			app := []string{"wxa", "wxb", "wxb"}[i%3]
			id := "evt_" + rand.Text()
			payload, _ := json.Marshal(map[string]any{"appid": app, "openid": "o", "state": "verified"})
			rows = append(rows, model.WebhookEvent{ID: id, Type: "verification.verified", Payload: string(payload),
				CreatedAt: time.Now().UTC().Add(time.Duration(i) * time.Millisecond), AppID: app})
			want[app] = append(want[app], id)
		}
		if err := db.Create(&rows).Error; err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "numbered", func() bool {
			p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 100})
			return err == nil && len(p.Events) == 12
		})
		var ordered []model.WebhookEvent
		db.Where("app_id = ?", "wxa").Order("seq").Find(&ordered)
		var got []string
		after := int64(-1)
		for range 10 {
			p, err := s.Feed(ctx, webhook.FeedQuery{After: after, Limit: 2, AppID: "wxa"})
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range p.Events {
				var ev struct {
					ID   string
					Data struct{ AppID string }
				}
				json.Unmarshal(raw, &ev)
				if ev.Data.AppID != "wxa" {
					t.Fatalf("an event of %q in wxa's feed", ev.Data.AppID)
				}
				got = append(got, ev.ID)
			}
			after = p.Next
		}
		if len(got) != len(want["wxa"]) || after != 12 {
			t.Fatalf("wxa's feed: %d events (want %d), cursor %d (want 12)", len(got), len(want["wxa"]), after)
		}
		for i := range got {
			if got[i] != ordered[i].ID {
				t.Fatalf("event %d is %s, want %s in seq order", i, got[i], ordered[i].ID)
			}
		}
		p, err := s.Feed(ctx, webhook.FeedQuery{After: -1, Limit: 100, AppID: "wxc"})
		if err != nil || len(p.Events) != 0 || p.Next != 12 {
			t.Fatalf("an app without events: %+v %v", p, err)
		}
	})
}
