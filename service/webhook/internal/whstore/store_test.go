package whstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
	"realname/model/modeltest"
)

// The webhook store's contract suite: every case runs on SQLite, and on
// PostgreSQL and MariaDB when the environment names them, each on a fresh
// database.
func TestStore(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, f fixture, ep int64, events []string)
	}{
		{"claim leases due pending deliveries in order", claimCase},
		{"claim skips rows another transaction holds", skipLockedCase},
		{"record writes each outcome, fenced by the lease", recordCase},
		{"reclaim requeues only leases that ran out", reclaimCase},
		{"disable pauses, enable resumes", disableEnableCase},
		{"the sweep pauses and resumes stranded deliveries", strandedCase},
		{"replay starts a finished delivery again", replayCase},
		{"fan-out numbers events in order and creates once", fanoutCase},
		{"prune deletes history, never work", pruneCase},
		{"endpoint writes", endpointCase},
	}
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel() // each case has its own database; most of its time is the migration
					f, ep, events := newFixture(t, modeltest.Open(t, b, true), 20)
					c.run(t, f, ep, events)
				})
			}
		})
	}
}

var bg = context.Background()

func claimCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	other, err := f.CreateEndpoint(bg, model.WebhookEndpoint{URL: "https://other.example/", Enabled: true},
		func(int64) ([]byte, error) { return []byte("x"), nil })
	if err != nil {
		t.Fatal(err)
	}
	// Due in this order: events 2, 0, 1; event 3 is not due, 4 paused, 5 another endpoint's.
	d2 := f.put(t, events[2], ep, Pending, now.Add(-3*time.Second))
	d0 := f.put(t, events[0], ep, Pending, now.Add(-2*time.Second))
	d1 := f.put(t, events[1], ep, Pending, now.Add(-time.Second))
	f.put(t, events[3], ep, Pending, now.Add(time.Minute))
	f.put(t, events[4], ep, Paused, now.Add(-time.Hour))
	f.put(t, events[5], other.ID, Pending, now.Add(-time.Hour))
	lease := Lease{ID: "lease-1", Until: now.Add(time.Minute)}
	got, err := f.Claim(bg, []int64{ep}, 2, lease, now)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if slices.Sort(ids); !slices.Equal(ids, []int64{d2.ID, d0.ID}) && !slices.Equal(ids, []int64{d0.ID, d2.ID}) {
		t.Fatalf("claimed %v, want the two due first: %d and %d", ids, d2.ID, d0.ID)
	}
	if f.db.Name() == model.DialectPostgres {
		for _, d := range got {
			if d.Event == nil || d.Event.ID != d.EventID || d.Event.Payload != "{}" || d.Event.Type != "verification.verified" {
				t.Errorf("claimed %d with event %+v, want its event read with it", d.ID, d.Event)
			}
		}
	}
	for _, d := range got {
		row := f.get(t, d.ID)
		if d.Status != row.Status || d.LeaseID != lease.ID {
			t.Errorf("claim returned %+v, the row is %+v", d.WebhookDelivery, row)
		}
		if row.Status != string(Delivering) || row.LeaseID != lease.ID || row.LeaseUntil == nil ||
			!row.LeaseUntil.Equal(lease.Until) || !row.NextAttemptAt.Equal(lease.Until) {
			t.Errorf("claimed row %+v", row)
		}
	}
	rest, err := f.Claim(bg, []int64{ep}, 10, Lease{ID: "lease-2", Until: lease.Until}, now)
	if err != nil || len(rest) != 1 || rest[0].ID != d1.ID {
		t.Fatalf("second claim: %+v, %v; want only %d", rest, err, d1.ID)
	}
}

func skipLockedCase(t *testing.T, f fixture, ep int64, events []string) {
	if f.db.Name() == model.DialectSQLite {
		t.Skip("SQLite has no row locks: its writers take turns")
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ds []model.WebhookDelivery
	for i := range 4 {
		ds = append(ds, f.put(t, events[i], ep, Pending, now.Add(time.Duration(i-10)*time.Second)))
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	err := f.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var held []model.WebhookDelivery
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id IN ?", []int64{ds[0].ID, ds[1].ID}).Find(&held).Error; err != nil {
			return err
		}
		got, err := f.Claim(ctx, []int64{ep}, 10, Lease{ID: "L", Until: now.Add(time.Minute)}, now)
		if err != nil {
			return err
		}
		ids := []int64{}
		for _, d := range got {
			ids = append(ids, d.ID)
		}
		if slices.Sort(ids); !slices.Equal(ids, []int64{ds[2].ID, ds[3].ID}) {
			return fmt.Errorf("claimed %v beside a transaction holding %d and %d; want %d and %d", ids, ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func recordCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ds []model.WebhookDelivery
	for i := range 7 {
		ds = append(ds, f.put(t, events[i], ep, Pending, now.Add(-time.Minute)))
	}
	if _, err := f.Claim(bg, []int64{ep}, 10, Lease{ID: "mine", Until: now.Add(time.Minute)}, now); err != nil {
		t.Fatal(err)
	}
	// ds[4] was taken over by another worker after this one's lease ran
	// out; ds[5] and ds[6] were requeued by the sweep and nobody claimed
	// them since (ds[6] was paused meanwhile: its endpoint was disabled).
	if err := f.db.Model(&model.WebhookDelivery{}).Where("id = ?", ds[4].ID).Update("lease_id", "theirs").Error; err != nil {
		t.Fatal(err)
	}
	f.db.Model(&model.WebhookDelivery{}).Where("id IN ?", []int64{ds[5].ID, ds[6].ID}).Update("next_attempt_at", now.Add(-time.Second))
	if n, err := f.Reclaim(bg, now, 100); err != nil || n != 2 {
		t.Fatalf("reclaim: %d, %v", n, err)
	}
	f.db.Model(&model.WebhookDelivery{}).Where("id = ?", ds[6].ID).Update("status", string(Paused))
	retryAt := now.Add(5 * time.Second)
	tally, err := f.Record(bg, "mine", now, []Outcome{
		{DeliveryID: ds[0].ID, Move: Deliver, StatusCode: 204, Latency: 12 * time.Millisecond, Response: "ok"},
		{DeliveryID: ds[1].ID, Move: Deliver, StatusCode: 200},
		{DeliveryID: ds[2].ID, Move: Retry, RetryAt: retryAt, StatusCode: 503, Error: "HTTP 503"},
		{DeliveryID: ds[3].ID, Move: GiveUp, StatusCode: 410, Error: "HTTP 410"},
		{DeliveryID: ds[4].ID, Move: Deliver, StatusCode: 204},
		{DeliveryID: ds[5].ID, Move: Deliver, StatusCode: 204},
		{DeliveryID: ds[6].ID, Move: Deliver, StatusCode: 204},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tally{Delivered: 3, Retried: 1, GaveUp: 1, LeaseLost: 2}); tally != want {
		t.Errorf("tally %+v, want %+v", tally, want)
	}
	for i, want := range []struct {
		status   State
		attempts int
		code     int
		err      string
		lease    string
	}{
		{Succeeded, 1, 204, "", ""},
		{Succeeded, 1, 200, "", ""},
		{Pending, 1, 503, "HTTP 503", ""},
		{Failed, 1, 410, "HTTP 410", ""},
		{Delivering, 0, 0, "", "theirs"},
		{Succeeded, 1, 204, "", ""},
		{Paused, 0, 0, "", "mine"},
	} {
		got := f.get(t, ds[i].ID)
		if got.Status != string(want.status) || got.Attempts != want.attempts || got.LastStatus != want.code ||
			got.LastError != want.err || got.LeaseID != want.lease || (want.lease == "") != (got.LeaseUntil == nil) {
			t.Errorf("delivery %d: %+v, want %+v", i, got, want)
		}
	}
	if got := f.get(t, ds[2].ID); !got.NextAttemptAt.Equal(retryAt) {
		t.Errorf("retry due %v, want %v", got.NextAttemptAt, retryAt)
	}
	var attempts []model.WebhookAttempt
	f.db.Order("id").Find(&attempts)
	if len(attempts) != 7 || attempts[0].DeliveryID != ds[0].ID || attempts[0].LatencyMS != 12 || attempts[0].Response != "ok" {
		t.Errorf("attempts %+v, want one per outcome", attempts)
	}
}

func reclaimCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	ended := f.put(t, events[0], ep, Delivering, now.Add(-time.Second))
	running := f.put(t, events[1], ep, Delivering, now.Add(time.Minute))
	n, err := f.Reclaim(bg, now, 100)
	if err != nil || n != 1 {
		t.Fatalf("reclaimed %d, %v; want 1", n, err)
	}
	if got := f.get(t, ended.ID); got.Status != string(Pending) || got.LeaseID != "L1" {
		t.Errorf("reclaimed row %+v: pending, keeping its lease id for a late result", got)
	}
	if got := f.get(t, running.ID); got.Status != string(Delivering) {
		t.Errorf("a running lease was reclaimed: %+v", got)
	}
}

func disableEnableCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	pending := f.put(t, events[0], ep, Pending, now.Add(-time.Hour))
	leased := f.put(t, events[1], ep, Delivering, now.Add(time.Minute))
	if err := f.Disable(bg, ep, "by test", nil, now); err != nil {
		t.Fatal(err)
	}
	if err := f.Disable(bg, ep+100, "nobody", nil, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable of no endpoint: %v", err)
	}
	e, _ := f.Endpoint(bg, ep)
	if e.Enabled || e.DisabledReason != "by test" || f.get(t, pending.ID).Status != string(Paused) ||
		f.get(t, leased.ID).Status != string(Delivering) {
		t.Fatalf("after disable: endpoint %+v, pending %s, leased %s", e, f.get(t, pending.ID).Status, f.get(t, leased.ID).Status)
	}
	later := now.Add(time.Minute)
	if err := f.MarkHealth(bg, nil, []int64{ep}, now); err != nil {
		t.Fatal(err)
	}
	if err := f.Enable(bg, ep, later); err != nil {
		t.Fatal(err)
	}
	e, _ = f.Endpoint(bg, ep)
	got := f.get(t, pending.ID)
	if !e.Enabled || e.DisabledReason != "" || e.FailingSince != nil || got.Status != string(Pending) || !got.NextAttemptAt.Equal(later) {
		t.Fatalf("after enable: endpoint %+v, delivery %+v", e, got)
	}
	// The automatic disable holds only while the streak is old enough.
	if err := f.MarkHealth(bg, nil, []int64{ep}, now); err != nil {
		t.Fatal(err)
	}
	before := now.Add(-time.Hour)
	if err := f.Disable(bg, ep, "auto", &before, now); !errors.Is(err, ErrNotDisabled) {
		t.Errorf("disable of an endpoint failing only since %v, cutoff %v: %v", now, before, err)
	}
	if err := f.Disable(bg, ep, "auto", &later, now); err != nil {
		t.Errorf("disable of an endpoint failing long enough: %v", err)
	}
}

func strandedCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	off, err := f.CreateEndpoint(bg, model.WebhookEndpoint{URL: "https://off.example/", Enabled: true},
		func(int64) ([]byte, error) { return []byte("x"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Disable(bg, off.ID, "off", nil, now); err != nil {
		t.Fatal(err)
	}
	strandedPending := f.put(t, events[0], off.ID, Pending, now)
	strandedPaused := f.put(t, events[1], ep, Paused, now.Add(-time.Hour))
	fine := f.put(t, events[2], ep, Pending, now)
	if err := f.PauseStranded(bg, now, 100); err != nil {
		t.Fatal(err)
	}
	n, err := f.ResumeStranded(bg, now, 100)
	if err != nil || n != 1 {
		t.Fatalf("resumed %d, %v", n, err)
	}
	if f.get(t, strandedPending.ID).Status != string(Paused) || f.get(t, strandedPaused.ID).Status != string(Pending) ||
		f.get(t, fine.ID).Status != string(Pending) {
		t.Errorf("after the sweep: %s %s %s, want paused pending pending", f.get(t, strandedPending.ID).Status,
			f.get(t, strandedPaused.ID).Status, f.get(t, fine.ID).Status)
	}
}

func replayCase(t *testing.T, f fixture, ep int64, events []string) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := now.Add(-48 * time.Hour)
	var ds []model.WebhookDelivery
	for i, s := range []State{Succeeded, Failed, Pending, Failed} {
		at := now.Add(-time.Hour)
		if i == 3 {
			at = old
		}
		d := f.put(t, events[i], ep, s, at)
		f.db.Model(&model.WebhookDelivery{}).Where("id = ?", d.ID).Update("attempts", 8)
		ds = append(ds, d)
	}
	for i, want := range []error{nil, nil, ErrTransition} {
		err := f.Tx(bg, func(tx *Tx) error {
			d, err := tx.LockDelivery(ds[i].ID)
			if err != nil {
				return err
			}
			return tx.Replay(d, now)
		})
		if !errors.Is(err, want) {
			t.Errorf("replay of a %s delivery: %v, want %v", ds[i].Status, err, want)
		}
	}
	for _, d := range ds[:2] {
		if got := f.get(t, d.ID); got.Status != string(Pending) || got.Attempts != 0 || !got.NextAttemptAt.Equal(now) {
			t.Errorf("replayed %+v, want pending, a fresh schedule, due now", got)
		}
	}
	if err := f.Tx(bg, func(tx *Tx) error { _, err := tx.LockDelivery(999999); return err }); !errors.Is(err, ErrNotFound) {
		t.Errorf("lock of no delivery: %v", err)
	}
	f.db.Model(&model.WebhookDelivery{}).Where("id = ?", ds[1].ID).Update("status", string(Failed))
	n, err := f.ReplayFailed(bg, ep, now.Add(-2*time.Hour), now)
	if err != nil || n != 1 || f.get(t, ds[3].ID).Status != string(Failed) {
		t.Errorf("replay of the failed since 2h: %d, %v; the older one is %s", n, err, f.get(t, ds[3].ID).Status)
	}
	n, err = f.Backfill(bg, ep, old, now, func(typ string) bool { return typ == "verification.verified" })
	if err != nil || n != int64(len(events)-len(ds)) {
		t.Errorf("backfill: %d, %v; want %d", n, err, len(events)-len(ds))
	}
}
