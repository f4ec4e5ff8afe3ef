package review

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/ocr"
	"realname/service/store"
	"realname/service/verify"
)

func TestCaseMaskedAndReveal(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	ctx := context.Background()
	ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "reviewer")
	v := f.seedCase(t, seed{reason: verify.ReasonOCRMismatch, photos: true, warnings: []string{"copy_suspected"},
		corrections: []string{"name"}, name: "张三丰",
		front: &ocr.Fields{Side: ocr.SideFront, Name: "张三", IDNumber: "11010519491231002X", Birth: "1949-12-31", Address: "北京市朝阳区建国路88号"}})

	cs, err := f.svc.Case(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Revealed || cs.Name != "张**" || cs.IDNumber != "1101**********002X" {
		t.Fatalf("masked case shows %q %q", cs.Name, cs.IDNumber)
	}
	if len(cs.Warnings) != 1 || len(cs.Corrections) != 1 || !cs.PhotoFront || !cs.PhotoBack {
		t.Fatalf("case: warnings %v corrections %v photos %v/%v", cs.Warnings, cs.Corrections, cs.PhotoFront, cs.PhotoBack)
	}
	// Two OCR readings (front, back) and the submitted column.
	if len(cs.Compare.Columns) != 3 {
		t.Fatalf("columns %v", cs.Compare.Columns)
	}
	rows := map[string]CompareRow{}
	for _, r := range cs.Compare.Rows {
		rows[r.Field] = r
	}
	if !rows["name"].Differs || rows["id_number"].Differs || rows["birth"].Values[0] != "1949-**-**" {
		t.Fatalf("comparison: %+v", cs.Compare.Rows)
	}
	for _, r := range cs.Compare.Rows {
		for _, val := range r.Values {
			if strings.Contains(val, "张三") || val == "11010519491231002X" || strings.Contains(val, "建国路") {
				t.Fatalf("masked comparison leaks %q", val)
			}
		}
	}
	if len(cs.Webhooks) != 1 || cs.Webhooks[0].Type != verify.HookReviewRequired {
		t.Fatalf("webhooks %+v", cs.Webhooks)
	}

	if _, err := f.svc.Photo(ctx, v.ID, ann, "front"); !errors.Is(err, ErrRevealRequired) {
		t.Fatalf("photo before a reveal: %v", err)
	}
	if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
		t.Fatal(err)
	}
	rv, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, "")
	if err != nil || !rv.Revealed || rv.Name != "张三丰" || rv.IDNumber != "11010519491231002X" {
		t.Fatalf("revealed %q %q %v", rv.Name, rv.IDNumber, err)
	}
	last := f.events(t, v.ID)
	if e := last[len(last)-1]; e.Type != EventRevealed || e.Actor != Actor(ann) {
		t.Fatalf("last event %+v", e)
	}
	img, err := f.svc.Photo(ctx, v.ID, ann, "back")
	if err != nil || !strings.HasSuffix(string(img), "back") {
		t.Fatalf("photo: %v", err)
	}
	if _, err := f.svc.Photo(ctx, v.ID, bob, "front"); !errors.Is(err, ErrRevealRequired) {
		t.Fatalf("another reviewer's photo access rides on ann's reveal: %v", err)
	}
	if _, err := f.svc.Photo(ctx, v.ID, ann, "../etc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad side: %v", err)
	}
	f.clk.Advance(16 * time.Minute)
	if _, err := f.svc.Photo(ctx, v.ID, ann, "front"); !errors.Is(err, ErrRevealRequired) {
		t.Fatalf("photo after the reveal window: %v", err)
	}
	now := f.clk.Now()
	db.Model(&model.Verification{}).Where("id = ?", v.ID).Update("photos_deleted_at", &now)
	if _, err := f.svc.Photo(ctx, v.ID, ann, "front"); !errors.Is(err, ErrPhotosGone) {
		t.Fatalf("photo after deletion: %v", err)
	}
	db.Model(&model.Verification{}).Where("id = ?", v.ID).Update("erased_at", &now)
	if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); !errors.Is(err, ErrErased) {
		t.Fatalf("reveal of an erased case: %v", err)
	}
	if _, err := f.svc.Case(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing case: %v", err)
	}
	intact(t, db)
}

func TestCaseWebhookDeliveries(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
	ep := model.WebhookEndpoint{URL: "https://biz.example/hook", SecretEnc: []byte("x"), Enabled: true}
	if err := db.Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
	var ev model.WebhookEvent
	db.Where("verification_id = ?", v.ID).First(&ev)
	d := model.WebhookDelivery{EventID: ev.ID, EndpointID: ep.ID, Status: "failed", Attempts: 3, LastStatus: 502,
		NextAttemptAt: f.clk.Now()}
	if err := db.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	cs, err := f.svc.Case(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Webhooks) != 1 || len(cs.Webhooks[0].Deliveries) != 1 {
		t.Fatalf("webhooks %+v", cs.Webhooks)
	}
	if got := cs.Webhooks[0].Deliveries[0]; got.EndpointURL != ep.URL || got.Status != "failed" || got.LastStatus != 502 {
		t.Fatalf("delivery %+v", got)
	}
}

func TestDashboard(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	ann := f.admin(t, "ann", "reviewer")
	f.seedCase(t, seed{reason: verify.ReasonNoRecord, check: "no_record"})
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord, check: "failed"})
	f.seedCase(t, seed{state: store.Verified})
	if err := f.svc.Claim(context.Background(), v.ID, ann); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int64{}
	for _, s := range d.States {
		states[s.State] = s.N
	}
	if states[string(store.Review)] != 2 || states[string(store.Verified)] != 1 || d.InReview != 2 || d.Unclaimed != 1 {
		t.Fatalf("dashboard %+v", d)
	}
	var check ProviderStat
	for _, p := range d.Providers {
		if p.Kind == "idcheck" {
			check = p
		}
	}
	if check.Calls != 2 || check.Failed != 1 || check.SuccessRate() != 50 || check.AvgLatencyMS != 80 {
		t.Fatalf("idcheck stats %+v", check)
	}
}
