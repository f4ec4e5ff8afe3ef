package whstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"realname/model"
	"realname/model/modeltest"
)

// allowed is the delivery machine as the issue describes it, written out
// independently of the table: every other pair must be refused.
var allowed = [][2]State{
	{None, Pending}, {None, Paused}, // fan-out, ping, backfill
	{Pending, Delivering}, {Pending, Paused}, // claim; endpoint disabled
	{Delivering, Succeeded}, {Delivering, Pending}, {Delivering, Failed}, // 2xx; retry or lease ran out; schedule over
	{Pending, Succeeded}, {Pending, Pending}, {Pending, Failed}, // the late result of a worker whose lease ran out, before anyone claimed again
	{Paused, Pending},                       // endpoint enabled
	{Succeeded, Pending}, {Failed, Pending}, // replay
}

func TestTransitionTable(t *testing.T) {
	for _, from := range append([]State{None}, States()...) {
		for _, to := range append([]State{None}, States()...) {
			want := slices.Contains(allowed, [2]State{from, to})
			if got := Allowed(from, to); got != want {
				t.Errorf("Allowed(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, m := range Moves() {
		if _, ok := transitions[m]; !ok {
			t.Errorf("move %s is not in the table", m)
		}
	}
	if len(transitions) != len(Moves()) {
		t.Errorf("the table has %d moves, Moves lists %d", len(transitions), len(Moves()))
	}
	for _, s := range States() {
		if Finished(s) != (s == Succeeded || s == Failed) {
			t.Errorf("Finished(%s) = %v", s, Finished(s))
		}
	}
}

// TestMovesOnEveryBackend writes every move from every state on the
// database: an allowed one moves the row (and, fenced by its from-state,
// finds nothing the second time); a refused one is ErrTransition and
// leaves the row as it was.
func TestMovesOnEveryBackend(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		st, ep, events := newFixture(t, db, 64)
		next := 0
		event := func() string { next++; return events[next-1] }
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, m := range Moves() {
			if m == Queue || m == Park {
				continue // creations: below
			}
			for _, from := range States() {
				t.Run(fmt.Sprintf("%s from %s", m, from), func(t *testing.T) {
					d := st.put(t, event(), ep, from, now.Add(-time.Minute))
					p := patch{at: now, endLease: true}
					if m == Retry || m == Resume || m == Replay {
						p.nextAttemptAt = &now
					}
					var n int64
					err := st.Tx(context.Background(), func(tx *Tx) error {
						var err error
						n, err = tx.move(m, []State{from}, p, fence{ids: []int64{d.ID}})
						return err
					})
					got := st.get(t, d.ID)
					if !slices.Contains(transitions[m].from, from) {
						if !errors.Is(err, ErrTransition) || n != 0 || got.Status != string(from) || !got.UpdatedAt.Equal(d.UpdatedAt) {
							t.Fatalf("refused move wrote: err=%v n=%d row=%+v", err, n, got)
						}
						return
					}
					if err != nil || n != 1 || got.Status != string(Target(m)) || !got.UpdatedAt.Equal(now) {
						t.Fatalf("err=%v n=%d status=%s updated=%v, want 1 row in %s", err, n, got.Status, got.UpdatedAt, Target(m))
					}
					if Target(m) == from {
						return // a late retry: pending again, on a later schedule
					}
					err = st.Tx(context.Background(), func(tx *Tx) error {
						n, err = tx.move(m, []State{from}, p, fence{ids: []int64{d.ID}})
						return err
					})
					if err != nil || n != 0 {
						t.Fatalf("the same move again: err=%v n=%d, want nothing written (the row left %s)", err, n, from)
					}
				})
			}
		}
		t.Run("creations", func(t *testing.T) {
			for _, m := range Moves() {
				id := event()
				_, err := st.direct(context.Background()).Create([]NewDelivery{{EventID: id, EndpointID: ep, Move: m}}, now)
				var rows []model.WebhookDelivery
				db.Where("event_id = ?", id).Find(&rows)
				switch {
				case m == Queue || m == Park:
					if err != nil || len(rows) != 1 || rows[0].Status != string(Target(m)) {
						t.Errorf("create by %s: err=%v rows=%+v", m, err, rows)
					}
				case !errors.Is(err, ErrTransition) || len(rows) != 0:
					t.Errorf("create by %s: err=%v rows=%d, want ErrTransition and nothing", m, err, len(rows))
				}
			}
			err := st.Tx(context.Background(), func(tx *Tx) error {
				_, err := tx.move(Claim, []State{None}, patch{at: now}, fence{ids: []int64{1}})
				return err
			})
			if !errors.Is(err, ErrTransition) {
				t.Errorf("a move from None: %v, want ErrTransition", err)
			}
		})
	})
}

// TestColumnsExist: the columns the moves name are the model's.
func TestColumnsExist(t *testing.T) {
	s, err := schema.Parse(&model.WebhookDelivery{}, &syncMap{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Table != deliveriesTable {
		t.Errorf("table %q, moves write %q", s.Table, deliveriesTable)
	}
	for _, c := range []string{colID, colEndpointID, colStatus, colAttempts, colNextAttemptAt, colLeaseID, colLeaseUntil,
		colLastStatus, colLastError, colCreatedAt, colUpdatedAt} {
		if !slices.Contains(s.DBNames, c) {
			t.Errorf("column %q is not in %s (%v)", c, s.Table, s.DBNames)
		}
	}
}
