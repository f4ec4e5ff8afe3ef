package review

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
	"realname/service/verify"
)

func TestClaimAndApprove(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer")
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord, check: "no_record"})

		if _, err := f.svc.Approve(ctx, v.ID, ann, ""); !errors.Is(err, ErrNotClaimed) {
			t.Fatalf("approve without a claim: %v", err)
		}
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil { // renewing one's own claim is fine
			t.Fatalf("renew: %v", err)
		}
		var claimed *ClaimedError
		if err := f.svc.Claim(ctx, v.ID, bob); !errors.As(err, &claimed) || claimed.By != ann {
			t.Fatalf("second claim: %v", err)
		}
		if _, err := f.svc.Approve(ctx, v.ID, bob, ""); !errors.As(err, &claimed) {
			t.Fatalf("approve by a non-holder: %v", err)
		}
		out, err := f.svc.Approve(ctx, v.ID, ann, "looked fine")
		if err != nil || out.State != string(store.Verified) || out.Pending {
			t.Fatalf("approve: %+v %v", out, err)
		}
		var got model.Verification
		db.First(&got, v.ID)
		if got.State != store.Verified || got.DecidedBy == nil || *got.DecidedBy != ann || got.ClaimedBy != nil {
			t.Fatalf("after approval: %+v", got)
		}
		var hooks int64
		db.Model(&model.WebhookEvent{}).Where("verification_id = ? AND type = ?", v.ID, verify.HookReviewed).Count(&hooks)
		if hooks != 1 {
			t.Fatalf("outbox rows verification.reviewed = %d", hooks)
		}
		types := map[string]string{}
		for _, e := range f.events(t, v.ID) {
			types[e.Type] = e.Actor
		}
		if types["reviewed"] != Actor(ann) || types[EventClaimed] != Actor(ann) || types[EventNote] != Actor(ann) {
			t.Fatalf("events: %v", types)
		}
		if _, err := f.svc.Approve(ctx, v.ID, ann, ""); !errors.Is(err, ErrInvalidState) {
			t.Fatalf("second decision: %v", err)
		}
		intact(t, db)
	})
}

func TestClaimExpires(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	ctx := context.Background()
	ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer")
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
	if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(31 * time.Minute)
	if err := f.svc.Claim(ctx, v.ID, bob); err != nil {
		t.Fatalf("claim after expiry: %v", err)
	}
	if _, err := f.svc.Reject(ctx, v.ID, ann, "photo_unreadable", ""); err == nil {
		t.Fatal("the lapsed claimant decided")
	}
	if err := f.svc.Release(ctx, v.ID, ann); !errors.Is(err, ErrNotClaimed) {
		t.Fatalf("release by a non-holder: %v", err)
	}
	if err := f.svc.Release(ctx, v.ID, bob); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentClaims: of many reviewers claiming one case at once,
// exactly one gets it.
func TestConcurrentClaims(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		var ids []int64
		for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
			ids = append(ids, f.admin(t, n, "reviewer"))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for _, id := range ids {
			wg.Go(func() {
				err := f.svc.Claim(context.Background(), v.ID, id)
				var claimed *ClaimedError
				if err != nil && !errors.As(err, &claimed) {
					t.Errorf("claim %d: %v", id, err)
				}
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d reviewers hold the case", won)
		}
		intact(t, db)
	})
}

func TestFourEyes(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer")
		// The check said mismatch; staff think the vendor is wrong.
		v := f.seedCase(t, seed{reason: verify.ReasonMismatch, check: "mismatch"})
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		out, err := f.svc.Approve(ctx, v.ID, ann, "the vendor's record is outdated")
		if err != nil || !out.Pending || out.State != string(store.Review) {
			t.Fatalf("first approval: %+v %v", out, err)
		}
		cs, err := f.svc.Case(ctx, v.ID)
		if err != nil || !cs.NeedsSecond || cs.FirstApproval != "ann" || cs.LiveClaimUntil != nil {
			t.Fatalf("case after the first approval: second=%v first=%q claim=%v err=%v", cs.NeedsSecond, cs.FirstApproval, cs.LiveClaimUntil, err)
		}
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, v.ID, ann, ""); !errors.Is(err, ErrSameReviewer) {
			t.Fatalf("self-confirmation: %v", err)
		}
		if err := f.svc.Release(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Claim(ctx, v.ID, bob); err != nil {
			t.Fatal(err)
		}
		out, err = f.svc.Approve(ctx, v.ID, bob, "")
		if err != nil || out.Pending || out.State != string(store.Verified) {
			t.Fatalf("confirmation: %+v %v", out, err)
		}
		var first, final model.VerificationEvent
		for _, e := range f.events(t, v.ID) {
			switch e.Type {
			case EventApprovalRequested:
				first = e
			case "reviewed":
				final = e
			}
		}
		if first.Actor != Actor(ann) || final.Actor != Actor(bob) || !strings.Contains(first.Data, `"first_approval"`) {
			t.Fatalf("events: first %+v final %+v", first, final)
		}
		intact(t, db)
	})
}

func TestRejectAndResubmit(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	ctx := context.Background()
	ann := f.admin(t, "ann", "reviewer")
	v := f.seedCase(t, seed{reason: verify.ReasonOCRMismatch})
	if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reject(ctx, v.ID, ann, "because", ""); !errors.Is(err, ErrUnknownReason) {
		t.Fatalf("unknown reason: %v", err)
	}
	out, err := f.svc.Reject(ctx, v.ID, ann, "not_original_document", "photo of a screen; see 11010519491231002X")
	if err != nil || out.State != string(store.Rejected) {
		t.Fatalf("reject: %+v %v", out, err)
	}
	var got model.Verification
	db.First(&got, v.ID)
	if got.Reason != "not_original_document" {
		t.Fatalf("reason %q", got.Reason)
	}
	for _, e := range f.events(t, v.ID) {
		if e.Type == EventNote && (strings.Contains(e.Data, "screen") || !strings.Contains(e.Data, `"note_digest"`)) {
			t.Fatalf("note in the chain in clear: %s", e.Data)
		}
	}
	// The case file shows the words behind the digest, numbers masked.
	cs, err := f.svc.Case(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	shown := ""
	for _, e := range cs.Events {
		if e.Type == EventNote {
			shown = e.Texts["note"]
		}
	}
	if !strings.Contains(shown, "screen") || strings.Contains(shown, "11010519491231002X") {
		t.Fatalf("note on the case page: %q", shown)
	}

	w := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
	if err := f.svc.Claim(ctx, w.ID, ann); err != nil {
		t.Fatal(err)
	}
	if out, err := f.svc.RequestResubmit(ctx, w.ID, ann, "blurred back side"); err != nil || out.State != string(store.Rejected) {
		t.Fatalf("resubmit: %+v %v", out, err)
	}
	var resubmitted model.Verification
	db.First(&resubmitted, w.ID)
	if resubmitted.Reason != ReasonResubmit {
		t.Fatalf("reason %q", resubmitted.Reason)
	}
	intact(t, db)
}
