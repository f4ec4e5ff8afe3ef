package whstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

func fanoutCase(t *testing.T, f fixture, ep int64, _ []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	fresh := f.events(t, 5, false)
	var numbered []model.WebhookEvent
	err := f.Queue(bg, func(tx *Tx) error {
		evs, err := tx.Unfanned(3)
		if err != nil {
			return err
		}
		numbered = evs
		var ds []NewDelivery
		for _, ev := range evs {
			ds = append(ds, NewDelivery{EventID: ev.ID, EndpointID: ep, Move: Queue})
		}
		n, err := tx.Create(append(ds, ds[0]), now)
		if err != nil || (n != 3 && f.db.Name() != model.DialectMySQL) {
			return fmt.Errorf("created %d, %v; want 3 (the repeat is skipped)", n, err)
		}
		return tx.Number(evs, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	var created int64
	f.db.Model(&model.WebhookDelivery{}).Count(&created)
	if created != 3 {
		t.Fatalf("%d deliveries, want 3: the repeated pair is created once", created)
	}
	if len(numbered) != 3 || numbered[0].ID != fresh[0] || numbered[2].ID != fresh[2] {
		t.Fatalf("fanned out %+v, want the three oldest", numbered)
	}
	seq, err := f.FeedCounter(bg)
	if err != nil || seq.LastSeq != 3 {
		t.Fatalf("counter %+v, %v", seq, err)
	}
	rows, err := f.FeedEvents(bg, FeedQuery{After: 0, UpTo: seq.LastSeq, Limit: 10})
	if err != nil || len(rows) != 3 {
		t.Fatalf("feed %+v, %v", rows, err)
	}
	for i, r := range rows {
		if r.ID != fresh[i] || *r.Seq != int64(i+1) || r.FannedOutAt == nil || !r.FannedOutAt.Equal(now) {
			t.Errorf("feed row %d: %s seq %v fanned %v", i, r.ID, *r.Seq, r.FannedOutAt)
		}
	}
	b, err := f.Backlog(bg, now)
	if err != nil || b.Unfanned != 2 || b.Pending != 3 {
		t.Errorf("backlog %+v, %v; want 2 unfanned, 3 pending", b, err)
	}
}

func pruneCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := now.Add(-48 * time.Hour)
	done := f.put(t, events[0], ep, Succeeded, old)
	work := f.put(t, events[1], ep, Pending, old)
	f.db.Create(&model.WebhookAttempt{DeliveryID: done.ID, StatusCode: 204, CreatedAt: old})
	if _, err := f.PruneDeliveries(bg, Pending, now, 10); !errors.Is(err, ErrTransition) {
		t.Errorf("pruning pending deliveries: %v, want refused", err)
	}
	p, err := f.PruneDeliveries(bg, Succeeded, now.Add(-time.Hour), 10)
	if err != nil || p.Deliveries != 1 || p.Attempts != 1 {
		t.Fatalf("pruned %+v, %v", p, err)
	}
	f.get(t, work.ID)
	f.db.Model(&model.WebhookEvent{}).Where("1 = 1").Select("created_at", "fanned_out_at").
		UpdateColumns(&model.WebhookEvent{CreatedAt: old, FannedOutAt: &old})
	p, err = f.PruneEvents(bg, now.Add(-time.Hour), 100)
	if err != nil || p.Events != int64(len(events)-1) {
		t.Fatalf("pruned events %+v, %v; want all but the one with work", p, err)
	}
}

func endpointCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	e, err := f.Endpoint(bg, ep)
	if err != nil || string(e.SecretEnc) != fmt.Sprintf("sealed-%d", ep) {
		t.Fatalf("created endpoint %+v, %v: sealed with its id", e, err)
	}
	if err := f.SetAllowPrivate(bg, ep, true, now); err != nil {
		t.Fatal(err)
	}
	if err := f.Reconfigure(bg, ep, "https://new.example/", "verification.*", false, now); err != nil {
		t.Fatal(err)
	}
	until := now.Add(time.Hour)
	changed, err := f.Rotate(bg, ep, now, func(e *model.WebhookEndpoint) (Secrets, bool, error) {
		return Secrets{Current: []byte("cur"), Prev: e.SecretEnc, PrevUntil: &until}, true, nil
	})
	if err != nil || !changed {
		t.Fatalf("rotate: %v %v", changed, err)
	}
	n, err := f.Reseal(bg, func(e *model.WebhookEndpoint) ([]byte, []byte, error) { return nil, []byte("prev2"), nil })
	if err != nil || n != 1 {
		t.Fatalf("reseal: %d, %v", n, err)
	}
	e, _ = f.Endpoint(bg, ep)
	if e.URL != "https://new.example/" || e.EventTypes != "verification.*" || e.AllowPrivate || string(e.SecretEnc) != "cur" ||
		string(e.PrevSecretEnc) != "prev2" || e.PrevSecretUntil == nil || !e.PrevSecretUntil.Equal(until) || !e.UpdatedAt.Equal(now) {
		t.Errorf("endpoint after the writes: %+v", e)
	}
	key := "default"
	if _, err := f.CreateEndpoint(bg, model.WebhookEndpoint{URL: "https://a.example/", ConfigKey: &key}, func(int64) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateEndpoint(bg, model.WebhookEndpoint{URL: "https://b.example/", ConfigKey: &key}, func(int64) ([]byte, error) { return []byte("x"), nil }); !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Errorf("a second configured endpoint: %v", err)
	}
	if c, ok, err := f.ConfiguredEndpoint(bg, key); err != nil || !ok || c.URL != "https://a.example/" {
		t.Errorf("configured endpoint %+v %v %v", c, ok, err)
	}
	d := f.put(t, events[0], ep, Failed, now)
	f.db.Create(&model.WebhookAttempt{DeliveryID: d.ID, StatusCode: 500, Response: "echo", CreatedAt: now})
	if err := f.DeleteEndpoint(bg, ep); err != nil {
		t.Fatal(err)
	}
	var left int64
	f.db.Model(&model.WebhookAttempt{}).Count(&left)
	if _, err := f.Endpoint(bg, ep); !errors.Is(err, ErrNotFound) || left != 0 {
		t.Errorf("after delete: %v, %d attempts left", err, left)
	}
	if err := f.DeleteEndpoint(bg, ep); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
