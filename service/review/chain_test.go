package review

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/redisconn"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/service/verify"
	"realname/testdata/idcard"
)

func TestVerifyChainDetectsTampering(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		ann := f.admin(t, "ann", "reviewer")
		v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		f.seedCase(t, seed{reason: verify.ReasonNoRecord})
		if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, v.ID, ann, ""); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"webhook_endpoint_created", "webhook_secret_rotated", "webhook_replayed"} {
			if err := f.svc.RecordStaffAction(ctx, ann, typ, map[string]any{"endpoint": 1}); err != nil {
				t.Fatal(err)
			}
		}
		rep := intact(t, db)
		if rep.Chains != 3 || rep.Events != 12 {
			t.Fatalf("report %+v", rep)
		}

		evs := f.events(t, v.ID)
		mid := evs[3]
		db.Model(&model.VerificationEvent{}).Where("id = ?", mid.ID).Update("data", `{"reason":"edited"}`)
		expectBroken(t, db, mid.ID, "hash")
		db.Model(&model.VerificationEvent{}).Where("id = ?", mid.ID).Update("data", mid.Data)
		intact(t, db)

		db.Delete(&model.VerificationEvent{}, mid.ID)
		expectBroken(t, db, evs[4].ID, "link")
		mid.ID = 0
		// Re-inserting the row as it was (a new id, same content) restores
		// nothing: the chain is ordered by id.
		db.Create(&mid)
		expectBroken(t, db, evs[4].ID, "link")
		db.Delete(&model.VerificationEvent{}, mid.ID)
		db.Where("verification_id = ? AND id > ?", v.ID, evs[2].ID).Delete(&model.VerificationEvent{})
		intact(t, db) // dropping a chain's tail is the one thing a chain alone cannot show

		var staff model.VerificationEvent
		db.Where("verification_id IS NULL AND type = ?", "webhook_secret_rotated").First(&staff)
		db.Model(&model.VerificationEvent{}).Where("id = ?", staff.ID).Update("actor", "admin:999")
		if rep, _ := VerifyChain(ctx, db); rep.Broken == nil {
			t.Fatal("a changed actor went unnoticed")
		}
	})
}

func expectBroken(t *testing.T, db *gorm.DB, id int64, problem string) {
	t.Helper()
	rep, err := VerifyChain(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken == nil || rep.Broken.Event.ID != id || rep.Broken.Problem != problem {
		t.Fatalf("want event %d broken (%s), got %+v", id, problem, rep.Broken)
	}
}

// TestChainOverRealFlow runs a case through the real flow (sandbox vendors)
// into review and out by a staff decision, then checks the chain: the
// times verify hashes must survive each database's precision.
func TestChainOverRealFlow(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		srv := vendorSandbox(t)
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		flow := realFlow(t, srv, f.st, redistest.Open(t), f.ring, f.st.StagedPhotos(f.blobs), f.clk)
		f.svc = New(Deps{Reads: db, Crypto: f.ring, Blobs: f.blobs, Store: f.st, Log: quiet}, Options{Clock: f.clk})
		vid := runToReview(t, db, flow, "norecord")
		ann := f.admin(t, "ann", "reviewer")
		if err := f.svc.Claim(ctx, vid, ann); err != nil {
			t.Fatal(err)
		}
		cs, err := f.svc.Reveal(ctx, vid, Staff{AdminID: ann}, "")
		if err != nil || !cs.PhotoFront || len(cs.Compare.Columns) < 3 {
			t.Fatalf("reveal: %v %+v", err, cs.Compare.Columns)
		}
		if img, err := f.svc.Photo(ctx, vid, ann, "front"); err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) && !bytes.HasPrefix(img, []byte("\xff\xd8")) {
			t.Fatalf("photo: %v", err)
		}
		if _, err := f.svc.Approve(ctx, vid, ann, ""); err != nil {
			t.Fatal(err)
		}
		intact(t, db)
		var n int64
		db.Model(&model.WebhookEvent{}).Where("verification_id = ? AND type = ?", vid, verify.HookReviewed).Count(&n)
		if n != 1 {
			t.Fatalf("reviewed webhooks: %d", n)
		}
	})
}

// runToReview uploads a sample card and submits it; the card's key must be
// one the check sends to review.
func runToReview(t *testing.T, db *gorm.DB, flow *verify.Service, key string) int64 {
	t.Helper()
	ctx := context.Background()
	c, front, back := cardImages(t, key)
	u := model.User{AppID: "wxtest", OpenID: "o-flow-" + key + "-" + strings.ToLower(t.Name()[len(t.Name())-4:])}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	vu := verify.User{ID: u.ID, AppID: u.AppID}
	if _, err := flow.Upload(ctx, vu, verify.UploadInput{Image: front, Side: ocr.SideFront, Consent: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := flow.Upload(ctx, vu, verify.UploadInput{Image: back, Side: ocr.SideBack}); err != nil {
		t.Fatal(err)
	}
	view, err := flow.Submit(ctx, vu, verify.Claim{Name: c.Name, IDNumber: c.IDNumber})
	if err != nil || view.State != string(store.Review) {
		t.Fatalf("submit: %+v %v", view, err)
	}
	return view.ID
}

// cardImages returns a sample card and its two photos.
func cardImages(t *testing.T, key string) (idcard.Card, []byte, []byte) {
	t.Helper()
	all, _ := idcard.Cards()
	for _, c := range all {
		if c.Key == key {
			front, _ := idcard.Image(c.Front)
			back, _ := idcard.Image(c.Back)
			return c, front, back
		}
	}
	t.Fatalf("no sample card %q", key)
	return idcard.Card{}, nil, nil
}

// vendorSandbox starts the apizero and Acedata fakes.
func vendorSandbox(t *testing.T) *sandbox.Server {
	t.Helper()
	cards, err := sandbox.LoadCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(quiet)
	sandbox.NewApizero(cards, "").Mount(srv)
	sandbox.NewAcedata(cards, "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return srv
}

// realFlow is the verification flow over the vendor fakes of srv.
func realFlow(t *testing.T, srv *sandbox.Server, st *store.Store, conn *redisconn.Conn, ring *pii.KeyRing, photos verify.Photos, clk clock.Clock) *verify.Service {
	t.Helper()
	reg := prometheus.NewRegistry()
	az := ocr.NewApizero(srv.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, nil)
	check, err := idcheck.NewAcedata(srv.URL()+"/acedata", sandbox.SandboxAcedataKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return verify.New(verify.Deps{Store: st, Redis: conn.Client, Prefix: conn.Prefix,
		OCR:    ocr.NewChain([]ocr.Provider{az}, ocr.ChainOptions{}, quiet, reg),
		Intake: ocr.NewIntake(ocr.IntakeLimits{}, ocr.NewBudget(0, time.Second)),
		Check: idcheck.NewChain(idcheck.ChainDeps{Providers: []idcheck.Provider{check}, Redis: conn.Client, Prefix: conn.Prefix, Hash: ring,
			Log: quiet, Registry: reg}),
		Crypto: ring, Photos: photos, Policy: verify.DefaultPolicy(), Clock: clk, Log: quiet})
}
