package review

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/verify"
)

// TestRevealOnlyOwnClaimedCase: a reviewer reveals only a case in review
// that they hold; another's case, an unclaimed one or a decided one is
// refused, and an admin opens it only with a reason, sealed in the trail.
func TestRevealOnlyOwnClaimedCase(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, modeltest.Open(t, b, true))
			ctx := context.Background()
			ann, bob, root := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer"), f.admin(t, "root", "admin")
			v := f.seedCase(t, seed{reason: verify.ReasonNoRecord, name: "周晓梅"})
			if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); !errors.Is(err, ErrRevealNotClaimed) {
				t.Fatalf("unclaimed: %v", err)
			}
			if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: bob}, "looking"); !errors.Is(err, ErrRevealNotClaimed) {
				t.Fatalf("another reviewer's claim: %v", err)
			}
			if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); err != nil {
				t.Fatalf("own claim: %v", err)
			}
			if _, err := f.svc.Approve(ctx, v.ID, ann, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); !errors.Is(err, ErrRevealNotClaimed) {
				t.Fatalf("decided case: %v", err)
			}
			if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: root, Admin: true}, "  "); !errors.Is(err, ErrRevealReason) {
				t.Fatalf("admin without a reason: %v", err)
			}
			cs, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: root, Admin: true}, "投诉核查 周晓梅 工单 4711")
			if err != nil || !cs.Revealed {
				t.Fatalf("admin with a reason: %v", err)
			}
			var reveals []model.VerificationEvent
			f.db.Where("verification_id = ? AND type = ?", v.ID, EventRevealed).Order("id").Find(&reveals)
			if len(reveals) != 2 {
				t.Fatalf("%d reveals recorded, want 2 (refusals record none)", len(reveals))
			}
			last := reveals[1]
			if !strings.Contains(last.Data, `"override":true`) || !strings.Contains(last.Data, `"reason_digest"`) || strings.Contains(last.Data, "4711") {
				t.Fatalf("override reveal data %s", last.Data)
			}
			cs, _ = f.svc.Case(ctx, v.ID)
			words := ""
			for _, e := range cs.Events {
				if e.ID == last.ID {
					words = e.Texts["reason"]
				}
			}
			if !strings.Contains(words, "工单 4711") || strings.Contains(words, "周晓梅") {
				t.Fatalf("the reason as the trail shows it: %q", words)
			}
			intact(t, f.db)
		})
	}
}

// TestRevealRate: past the limit a staff member's reveals are refused,
// one alert goes to their audit chain per window, and the metric counts.
func TestRevealRate(t *testing.T) {
	f := newFixture(t, modeltest.Open(t, modeltest.Backends()[0], true))
	reg := prometheus.NewRegistry()
	f.svc = New(Deps{Reads: f.db, Crypto: f.ring, Blobs: f.blobs, Store: f.st, Log: quiet}, Options{Clock: f.clk, RevealLimit: 3, RevealLimitWindow: 5 * time.Minute, Registry: reg})
	ctx := context.Background()
	root := f.admin(t, "root", "admin")
	var refused int
	for i := range 6 {
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		_, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: root, Admin: true}, "bulk look")
		switch {
		case i < 3 && err != nil:
			t.Fatalf("reveal %d: %v", i, err)
		case i >= 3 && !errors.Is(err, ErrRevealRate):
			t.Fatalf("reveal %d past the limit: %v", i, err)
		case err != nil:
			refused++
		}
	}
	var alerts int64
	f.db.Model(&model.VerificationEvent{}).Where("actor = ? AND type = ? AND verification_id IS NULL", Actor(root), EventRevealRateExceeded).Count(&alerts)
	if alerts != 1 {
		t.Fatalf("%d alerts, want one per window", alerts)
	}
	if got := testutil.ToFloat64(f.svc.metrics.refusals.WithLabelValues("rate")); got != float64(refused) {
		t.Fatalf("refusals metric %v, want %d", got, refused)
	}
	if got := testutil.ToFloat64(f.svc.metrics.reveals.WithLabelValues("override")); got != 3 {
		t.Fatalf("reveals metric %v", got)
	}
	f.clk.Advance(6 * time.Minute)
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
	if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: root, Admin: true}, "later"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	intact(t, f.db)
}

// TestSearchByNumberIsAudited: a search by a full ID number leaves an
// entry with the number's keyed hash and the cases found, never the number.
func TestSearchByNumberIsAudited(t *testing.T) {
	f := newFixture(t, modeltest.Open(t, modeltest.Backends()[0], true))
	ctx := context.Background()
	ann := f.admin(t, "ann", "reviewer")
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord, number: "11010519491231002X"})
	page, err := f.svc.SearchNumber(ctx, ann, "11010519491231002x")
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != v.ID {
		t.Fatalf("search: %+v %v", page, err)
	}
	var e model.VerificationEvent
	if err := f.db.Where("actor = ? AND type = ?", Actor(ann), EventNumberSearched).Take(&e).Error; err != nil {
		t.Fatal("the search left no audit entry")
	}
	if strings.Contains(e.Data, "11010519491231002") || !strings.Contains(e.Data, `"number_hash"`) ||
		!strings.Contains(e.Data, `"found":1`) {
		t.Fatalf("search entry %s", e.Data)
	}
	intact(t, f.db)
}
