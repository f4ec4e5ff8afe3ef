package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
)

// TestStepFromWritesOnTheSnapshotOrReadsAgain: a step on a row read
// before it writes without reading it again, its webhook payload naming
// the user the snapshot read; a row changed since (a staff note moves only
// the chain head) is read again under the lock and decided on as it is
// now; steps from one stale snapshot racing other writers keep one chain.
func TestStepFromWritesOnTheSnapshotOrReadsAgain(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-snap")
		snap, err := e.st.Latest(ctx, v.UserID)
		if err != nil || snap.ID != v.ID {
			t.Fatalf("latest: %+v %v", snap.Verification, err)
		}
		before := model.StatementCounts(db)
		got, err := e.st.StepFrom(ctx, snap, func(_ context.Context, cur *model.Verification) (store.Change, error) {
			return store.Change{To: store.Recognized, Event: "idcard_read", Actor: "user:1", Hook: "verification.recognized"}, nil
		})
		if err != nil || got.State != store.Recognized || got.Version != 2 {
			t.Fatalf("step: %+v %v", got.Verification, err)
		}
		// The UPDATE, the events and the outbox row: no read.
		if n := model.StatementCounts(db).Statements - before.Statements; n != 3 {
			t.Fatalf("%d statements for a step on a fresh snapshot, want 3", n)
		}
		var ev model.WebhookEvent
		e.db.Where("verification_id = ?", v.ID).Take(&ev)
		var payload store.WebhookPayload
		if err := json.Unmarshal([]byte(ev.Payload), &payload); err != nil || payload.OpenID != "o-snap" || payload.AppID != "wxtest" {
			t.Fatalf("payload %s: %v", ev.Payload, err)
		}

		// Stale: a note since the snapshot moved the chain head only.
		note, err := e.st.AppendEvent(ctx, v.ID, store.Event{Type: "note", Actor: "admin:1"})
		if err != nil {
			t.Fatal(err)
		}
		var heads []string
		got, err = e.st.StepFrom(ctx, got, func(_ context.Context, cur *model.Verification) (store.Change, error) {
			heads = append(heads, cur.ChainHead)
			return store.Change{To: store.Checking, Event: "submitted", Actor: "user:1"}, nil
		})
		if err != nil || got.State != store.Checking || got.Version != 3 {
			t.Fatalf("stale step: %+v %v", got.Verification, err)
		}
		if len(heads) != 2 || heads[1] != note.ChainHead {
			t.Fatalf("decide saw heads %q, want a second look at %q", heads, note.ChainHead)
		}
		if evs := e.intact(t, v.ID); len(evs) != 4 {
			t.Fatalf("%d events", len(evs))
		}

		// Many steps from one snapshot beside other writers.
		w := e.open(t, "o-snap-race")
		old, err := e.st.Latest(ctx, w.UserID)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = e.st.StepFrom(ctx, old, to(store.Draft, "idcard_read"))
				} else {
					_, err = e.st.AppendEvent(ctx, w.ID, store.Event{Type: "note", Actor: fmt.Sprintf("admin:%d", i)})
				}
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		var row model.Verification
		e.db.Take(&row, w.ID)
		if evs := e.intact(t, w.ID); len(evs) != n+1 || row.Version != 1+n/2 {
			t.Fatalf("%d events, version %d; want %d, %d", len(evs), row.Version, n+1, 1+n/2)
		}
	})
}
