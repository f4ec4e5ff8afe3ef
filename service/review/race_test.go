package review

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
	"realname/service/verify"
)

// TestApproveLosesToErase: once the user erased their data, staff can
// neither approve nor reject nor reveal the case, and it never becomes
// verified; racing the two ends erased with one erasure either way.
func TestApproveLosesToErase(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		ann := f.admin(t, "ann", "reviewer")
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		if err := f.flow.Erase(ctx, verify.User{ID: v.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, v.ID, ann, ""); !errors.Is(err, ErrErased) {
			t.Fatalf("approve after erasure: %v", err)
		}
		if _, err := f.svc.Reject(ctx, v.ID, ann, "suspected_fraud", ""); !errors.Is(err, ErrErased) {
			t.Fatalf("reject after erasure: %v", err)
		}
		if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); !errors.Is(err, ErrErased) {
			t.Fatalf("reveal after erasure: %v", err)
		}
		var got model.Verification
		f.db.Take(&got, v.ID)
		if got.State != store.Erased {
			t.Fatalf("state %s", got.State)
		}

		// The same race run at once, many times: always erased, one
		// erasure, at most one decision, an intact chain.
		for range 5 {
			w := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
			if err := f.svc.Claim(ctx, w.ID, ann); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var approveErr, eraseErr error
			wg.Go(func() { _, approveErr = f.svc.Approve(ctx, w.ID, ann, "") })
			wg.Go(func() { eraseErr = f.flow.Erase(ctx, verify.User{ID: w.UserID}) })
			wg.Wait()
			if eraseErr != nil || (approveErr != nil && !errors.Is(approveErr, ErrErased)) {
				t.Fatalf("race: approve %v, erase %v", approveErr, eraseErr)
			}
			f.db.Take(&got, w.ID)
			if got.State != store.Erased {
				t.Fatalf("after the race: %s", got.State)
			}
			counts := map[string]int{}
			for _, e := range f.events(t, w.ID) {
				counts[e.Type]++
			}
			if counts["erased"] != 1 || counts["reviewed"] > 1 {
				t.Fatalf("events %v", counts)
			}
			var bindings int64
			f.db.Model(&model.IDBinding{}).Where("user_id = ?", w.UserID).Count(&bindings)
			if bindings != 0 {
				t.Fatal("binding survived the erasure")
			}
		}
		intact(t, f.db)
	})
}

// TestConcurrentDecisionsOneOutcome: the claimant deciding twice at once
// and a second reviewer trying meanwhile make exactly one decision.
func TestConcurrentDecisionsOneOutcome(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer")
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 4)
		var wg sync.WaitGroup
		wg.Go(func() { _, errs[0] = f.svc.Approve(ctx, v.ID, ann, "checked by phone") })
		wg.Go(func() { _, errs[1] = f.svc.Reject(ctx, v.ID, ann, "suspected_fraud", "") })
		wg.Go(func() { _, errs[2] = f.svc.Approve(ctx, v.ID, bob, "") })
		wg.Go(func() { errs[3] = f.svc.Claim(ctx, v.ID, bob) })
		wg.Wait()
		ok := 0
		for i, err := range errs[:3] {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrInvalidState), errors.Is(err, ErrNotClaimed):
			default:
				var c *ClaimedError
				if !errors.As(err, &c) {
					t.Fatalf("decision %d: %v", i, err)
				}
			}
		}
		if ok != 1 {
			t.Fatalf("%d decisions succeeded: %v", ok, errs)
		}
		counts := map[string]int{}
		for _, e := range f.events(t, v.ID) {
			counts[e.Type]++
		}
		if counts["reviewed"] != 1 {
			t.Fatalf("events %v", counts)
		}
		var hooks int64
		f.db.Model(&model.WebhookEvent{}).Where("verification_id = ? AND type = ?", v.ID, verify.HookReviewed).Count(&hooks)
		if hooks != 1 {
			t.Fatalf("%d reviewed webhooks", hooks)
		}
		intact(t, f.db)
	})
}
