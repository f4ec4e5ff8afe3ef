package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
)

// countingSignal records what the store tells it, and checks that Stage
// runs inside a transaction that can still write.
type countingSignal struct {
	mu                sync.Mutex
	staged, committed int
}

func (c *countingSignal) Stage(tx *gorm.DB) error {
	c.mu.Lock()
	c.staged++
	c.mu.Unlock()
	return tx.Exec("SELECT 1").Error
}

func (c *countingSignal) Committed() {
	c.mu.Lock()
	c.committed++
	c.mu.Unlock()
}

func (c *countingSignal) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.staged, c.committed
}

// TestOutboxIsSignalledOnCommitOnly: a step or an erasure that writes an
// outbox row stages the signal in its transaction and announces it after
// the commit, once even when steps are combined; a step without a webhook
// event, and one rolled back, announce nothing.
func TestOutboxIsSignalledOnCommitOnly(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		sig := &countingSignal{}
		e.st.SignalOutbox(sig)
		ctx := context.Background()
		v := e.open(t, "o-signal")
		want := func(what string, staged, committed int) {
			t.Helper()
			if s, c := sig.counts(); s != staged || c != committed {
				t.Fatalf("%s: staged %d, committed %d; want %d, %d", what, s, c, staged, committed)
			}
		}
		want("opening (no webhook event)", 0, 0)
		hook := func(to store.State) func(context.Context, *model.Verification) (store.Change, error) {
			return func(context.Context, *model.Verification) (store.Change, error) {
				return store.Change{To: to, Event: "step", Actor: "system", Hook: "verification." + string(to)}, nil
			}
		}
		if _, err := e.st.Step(ctx, v.ID, hook(store.Recognized)); err != nil {
			t.Fatal(err)
		}
		want("a step with a webhook event", 1, 1)
		boom := errors.New("rolled back")
		err := e.st.InTx(ctx, func(ctx context.Context) error {
			if _, err := e.st.Step(ctx, v.ID, hook(store.Checking)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		want("a rolled-back step", 1, 1)
		err = e.st.InTx(ctx, func(ctx context.Context) error {
			if _, err := e.st.Step(ctx, v.ID, hook(store.Checking)); err != nil {
				return err
			}
			_, err := e.st.Step(ctx, v.ID, hook(store.Verified))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want("two steps in one transaction", 2, 2)
		var u model.Verification
		e.db.Take(&u, v.ID)
		if _, err := e.st.Erase(ctx, u.UserID, "user:1"); err != nil {
			t.Fatal(err)
		}
		want("an erasure", 3, 3)
	})
}
