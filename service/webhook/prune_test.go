package webhook_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/webhook"
	"realname/service/webhook/internal/whstore"
)

// TestPruneKeepsWorkAndRecentHistory: finished deliveries older than the
// retention go with their attempts and events; recent ones, unfinished
// ones however old, and events that still have a delivery stay.
func TestPruneKeepsWorkAndRecentHistory(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		opts := fastOptions()
		opts.Retention = 24 * time.Hour
		s, _ := newService(t, db, testRing(t), opts)
		ep, _, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://receiver.example/hook"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
		cases := []struct {
			status webhook.State
			at     time.Time
			gone   bool
		}{
			{whstore.Succeeded, old, true},
			{whstore.Failed, old, true},
			{whstore.Succeeded, recent, false},
			{whstore.Failed, recent, false},
			{whstore.Pending, old, false},
			{whstore.Paused, old, false},
		}
		ids := insertEvents(t, db, len(cases)+1, len(cases)+1, 0)
		// Every event is old and fanned out; the last one never had a delivery.
		if err := db.Model(&model.WebhookEvent{}).Where("1 = 1").
			Select("created_at", "fanned_out_at").UpdateColumns(&model.WebhookEvent{CreatedAt: old, FannedOutAt: &old}).Error; err != nil {
			t.Fatal(err)
		}
		deliveries := make([]int64, len(cases))
		for i, c := range cases {
			d := model.WebhookDelivery{EventID: ids[i], EndpointID: ep.ID, Status: c.status.String(), Attempts: 1, NextAttemptAt: c.at,
				CreatedAt: c.at, UpdatedAt: c.at}
			if err := db.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
			deliveries[i] = d.ID
			if err := db.Create(&model.WebhookAttempt{DeliveryID: d.ID, StatusCode: 204, CreatedAt: c.at}).Error; err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Deliveries != 2 || st.Attempts != 2 || st.Events != 3 {
			t.Errorf("pruned %+v, want 2 deliveries, 2 attempts, 3 events (2 finished + 1 without deliveries)", st)
		}
		for i, c := range cases {
			var n, a, e int64
			db.Model(&model.WebhookDelivery{}).Where("id = ?", deliveries[i]).Count(&n)
			db.Model(&model.WebhookAttempt{}).Where("delivery_id = ?", deliveries[i]).Count(&a)
			db.Model(&model.WebhookEvent{}).Where("id = ?", ids[i]).Count(&e)
			if want := map[bool]int64{true: 0, false: 1}[c.gone]; n != want || a != want || e != want {
				t.Errorf("%s at %v: delivery %d, attempts %d, event %d; want %d each", c.status, c.at, n, a, e, want)
			}
		}
		// A second pass finds nothing: no row is read twice.
		if st, err := s.Prune(ctx); err != nil || st != (webhook.PruneStats{}) {
			t.Errorf("second pass: %+v, %v", st, err)
		}
	})
}
