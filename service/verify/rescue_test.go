package verify

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/idcard"
	"realname/service/store"
	cards "realname/testdata/idcard"
)

// crashInChecking takes u's recognized verification to checking as a
// submit does, and stops there, as a crash during the check would.
func crashInChecking(t *testing.T, f *fixture, u User, c cards.Card) model.Verification {
	t.Helper()
	num, err := idcard.Parse(c.IDNumber, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var v model.Verification
	f.db.Where("user_id = ?", u.ID).Order("id DESC").Take(&v)
	v, err = f.svc.store.Step(context.Background(), v.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		return f.svc.checking(ctx, cur, u, c.Name, num, nil, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func attemptOutcomes(f *fixture, vid int64) []string {
	var out []string
	f.db.Model(&model.ProviderAttempt{}).Where("verification_id = ? AND kind = ?", vid, "idcheck").Order("id").Pluck("outcome", &out)
	return out
}

// TestSweepAsksAnInterruptedCheckAgain: no attempt is recorded before the
// vendor is asked (the step to checking is the record); a check a crash left in checking is asked
// again once by the sweeper — answered by the verdict cache when the
// vendor had answered before the crash, so nothing is paid twice — and
// decided as the flow would; a rescue cut short goes to staff as
// interrupted.
func TestSweepAsksAnInterruptedCheckAgain(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		u := f.user(t, "o-crash")
		c, _ := f.recognized(t, u, "male")
		v := crashInChecking(t, f, u, c)
		if got := attemptOutcomes(f, v.ID); len(got) != 0 {
			t.Fatalf("attempts before the call: %v", got)
		}
		// The vendor answered; the process died before the decision.
		if _, err := f.svc.check.Check(ctx, c.Name, c.IDNumber); err != nil {
			t.Fatal(err)
		}
		paid := f.srv.Calls()["acedata"]

		f.clk.Advance(11 * time.Minute)
		st, err := f.svc.Sweep(ctx, 100)
		if err != nil || st.Rerun != 1 || st.Rescued != 1 {
			t.Fatalf("sweep: %+v %v", st, err)
		}
		var got model.Verification
		f.db.First(&got, v.ID)
		if got.State != store.Verified {
			t.Fatalf("asked again: %s %s", got.State, got.Reason)
		}
		if n := f.srv.Calls()["acedata"]; n != paid {
			t.Fatalf("the rescue paid again: %d calls, %d before", n, paid)
		}
		if out := attemptOutcomes(f, v.ID); len(out) != 2 || out[0] != store.AttemptInterrupted || out[1] != "cached" {
			t.Fatalf("attempts after the rescue: %v", out)
		}

		// A rescue that itself died: the next sweep sends the case to staff.
		w := f.user(t, "o-crash-twice")
		c2, _ := f.recognized(t, w, "female")
		v2 := crashInChecking(t, f, w, c2)
		if _, err := f.svc.store.AppendEvent(ctx, v2.ID, store.Event{Type: EventCheckRerun, Actor: "system"}); err != nil {
			t.Fatal(err)
		}
		// As an earlier version left it: an in-flight row, which the
		// rescue turns into the interrupted attempt instead of adding one.
		legacy := model.ProviderAttempt{VerificationID: v2.ID, Kind: "idcheck", Provider: "pending", Outcome: store.AttemptInFlight}
		if err := f.svc.store.RecordAttempts(ctx, []model.ProviderAttempt{legacy}); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(11 * time.Minute)
		if st, err := f.svc.Sweep(ctx, 100); err != nil || st.Rerun != 0 || st.Rescued != 1 {
			t.Fatalf("second sweep: %+v %v", st, err)
		}
		var cut model.Verification
		f.db.First(&cut, v2.ID)
		if cut.State != store.Review || cut.Reason != ReasonInterrupted {
			t.Fatalf("a rescue cut short: %s %s", cut.State, cut.Reason)
		}
		if out := attemptOutcomes(f, v2.ID); len(out) != 1 || out[0] != store.AttemptInterrupted {
			t.Fatalf("attempts of a rescue cut short: %v", out)
		}
	})
}
