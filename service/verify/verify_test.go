package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/testdata/idcard"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is the flow over the sandbox fakes, a real database and Redis,
// with a clock the test moves.
type fixture struct {
	svc   *Service
	db    *gorm.DB
	dir   string
	blobs *pii.FileBlobs // where the flow's photos are
	clk   *clock.Manual
	srv   *sandbox.Server
	rdb   redis.UniversalClient
}

func newFixture(t *testing.T, db *gorm.DB) *fixture {
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
	conn := redistest.Open(t)
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blobs, err := pii.NewFileBlobs(dir, ring)
	if err != nil {
		t.Fatal(err)
	}
	az := ocr.NewApizero(srv.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, nil)
	check, err := idcheck.NewAcedata(srv.URL()+"/acedata", sandbox.SandboxAcedataKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// One clock for the flow and the database, at a fixed moment: no test
	// here depends on the calendar.
	clk := clock.NewManual(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	db = db.Session(&gorm.Session{NowFunc: clk.Now})
	f := &fixture{db: db, dir: dir, blobs: blobs, srv: srv, clk: clk, rdb: conn.Client}
	st := store.New(db, clk, quiet)
	f.svc = New(Deps{Store: st, Redis: conn.Client, Prefix: conn.Prefix, OCR: ocr.NewChain([]ocr.Provider{az}, ocr.ChainOptions{}, quiet, reg),
		Intake: ocr.NewIntake(ocr.IntakeLimits{}, ocr.NewBudget(0, time.Second)),
		Check: idcheck.NewChain(idcheck.ChainDeps{Providers: []idcheck.Provider{check}, Redis: conn.Client, Prefix: conn.Prefix, Hash: ring,
			Log: quiet, Registry: reg}),
		Crypto: ring, Photos: st.StagedPhotos(blobs), Policy: DefaultPolicy(), Clock: clk, Log: quiet})
	return f
}

func (f *fixture) user(t *testing.T, openid string) User {
	t.Helper()
	u := model.User{AppID: "wxtest", OpenID: openid}
	if err := f.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return User{ID: u.ID, AppID: u.AppID}
}

func sampleCard(t *testing.T, key string) (idcard.Card, []byte, []byte) {
	t.Helper()
	cards, _ := idcard.Cards()
	for _, c := range cards {
		if c.Key == key {
			front, _ := idcard.Image(c.Front)
			back, _ := idcard.Image(c.Back)
			return c, front, back
		}
	}
	t.Fatalf("no card %s", key)
	return idcard.Card{}, nil, nil
}

func (f *fixture) recognized(t *testing.T, u User, key string) (idcard.Card, View) {
	t.Helper()
	c, front, back := sampleCard(t, key)
	ctx := context.Background()
	if _, err := f.svc.Upload(ctx, u, UploadInput{Image: front, Side: ocr.SideFront, Consent: "v1"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Upload(ctx, u, UploadInput{Image: back, Side: ocr.SideBack})
	if err != nil || v.State != string(store.Recognized) {
		t.Fatalf("back: %+v %v", v, err)
	}
	return c, v
}

func TestSubmitDecisions(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		for _, tc := range []struct{ key, state, reason string }{
			{"male", string(store.Verified), ""},
			{"mismatch", string(store.Rejected), ReasonMismatch},
			{"expired", string(store.Rejected), ReasonCardExpired},
			{"norecord", string(store.Review), ReasonNoRecord},
		} {
			u := f.user(t, "o-"+tc.key)
			c, _ := f.recognized(t, u, tc.key)
			calls := f.srv.Calls()["acedata POST /acedata/identity/idcard/ocr"]
			v, err := f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
			if err != nil || v.State != tc.state || v.Reason != tc.reason {
				t.Fatalf("%s: %+v %v", tc.key, v, err)
			}
			after := f.srv.Calls()["acedata POST /acedata/identity/idcard/ocr"]
			if tc.reason == ReasonCardExpired && after != calls {
				t.Errorf("expired card: the vendor was paid")
			}
		}
		// An identical re-upload reuses the reading: no OCR call.
		u := f.user(t, "o-reupload")
		_, front, _ := sampleCard(t, "female")
		if _, err := f.svc.Upload(ctx, u, UploadInput{Image: front, Consent: "v1"}); err != nil {
			t.Fatal(err)
		}
		before := f.srv.Calls()["apizero POST /apizero/api/ocr-idcard"]
		if _, err := f.svc.Upload(ctx, u, UploadInput{Image: front}); err != nil {
			t.Fatal(err)
		}
		if f.srv.Calls()["apizero POST /apizero/api/ocr-idcard"] != before {
			t.Error("identical re-upload paid for OCR again")
		}
	})
}

func TestMinAgeAndAttemptLimit(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	f.svc.policy.MinAge = 18
	ctx := context.Background()
	u := f.user(t, "o-minor")
	c, _ := f.recognized(t, u, "minor")
	v, err := f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
	if err != nil || v.State != string(store.Rejected) || v.Reason != ReasonUnderMinAge {
		t.Fatalf("minor: %+v %v", v, err)
	}
	// Five checks a day; the sixth is refused until midnight China time.
	u2 := f.user(t, "o-checker")
	adult, _, _ := sampleCard(t, "mismatch")
	for i := range 5 {
		if _, err := f.svc.Check(ctx, u2, Claim{Name: adult.Name, IDNumber: adult.IDNumber, Consent: "v1"}); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	_, err = f.svc.Check(ctx, u2, Claim{Name: adult.Name, IDNumber: adult.IDNumber})
	var many *TooManyError
	if !errors.As(err, &many) || many.RetryAfter <= 0 || many.RetryAfter > 24*time.Hour {
		t.Fatalf("sixth check: %v", err)
	}
	if cur, _ := f.svc.Current(ctx, u2); cur.AttemptsLeft != 0 {
		t.Fatalf("attempts left %d", cur.AttemptsLeft)
	}
}

// sweepStarts are the moments the sweeper test starts at: the fixture's
// day and a year later, so a sweep never depends on when the suite runs
// (it once failed every run after the fixture's date had passed).
var sweepStarts = []time.Time{
	time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC),
	time.Date(2027, 11, 23, 3, 0, 0, 0, time.UTC),
}

func TestSweepExpiresRescuesAndDeletesPhotos(t *testing.T) {
	for _, start := range sweepStarts {
		t.Run(start.Format("2006-01-02"), func(t *testing.T) { testSweep(t, start) })
	}
}

func testSweep(t *testing.T, start time.Time) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		f.clk.Set(start)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		idle := f.user(t, "o-idle")
		f.recognized(t, idle, "female")
		done := f.user(t, "o-done")
		c, _ := f.recognized(t, done, "male")
		if _, err := f.svc.Submit(ctx, done, Claim{Name: c.Name, IDNumber: c.IDNumber}); err != nil {
			t.Fatal(err)
		}
		stuck := f.user(t, "o-stuck")
		f.recognized(t, stuck, "longterm")
		var sv model.Verification
		db.Where("user_id = ?", stuck.ID).Take(&sv)
		// A crash between "checking" and the decision.
		db.Model(&model.Verification{}).Where("id = ?", sv.ID).Select("state", "version").
			Updates(&model.Verification{State: store.Checking, Version: sv.Version + 1})

		photos := func() int {
			files, _ := filepath.Glob(filepath.Join(f.dir, "*", "*"))
			return len(files)
		}
		if n := photos(); n != 6 {
			t.Fatalf("%d photos stored, want 6", n)
		}
		f.clk.Advance(25 * time.Hour)
		st, err := f.svc.Sweep(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if st.Expired != 1 || st.Rescued != 1 || st.PhotosDeleted != 0 {
			t.Fatalf("first sweep: %+v", st)
		}
		f.clk.Advance(73 * time.Hour)
		// The decided and the expired lose their photos; the case now in
		// review keeps them for the reviewer.
		if st, err = f.svc.Sweep(ctx, 100); err != nil || st.PhotosDeleted != 2 {
			t.Fatalf("second sweep: %+v %v", st, err)
		}
		if n := photos(); n != 2 {
			t.Fatalf("%d photos left after retention, want the 2 under review", n)
		}
		var rescued model.Verification
		db.First(&rescued, sv.ID)
		if rescued.State != store.Review || rescued.Reason != ReasonInterrupted {
			t.Fatalf("stuck check: %s %s", rescued.State, rescued.Reason)
		}
		// Sweeping again finds nothing.
		if st, _ := f.svc.Sweep(ctx, 100); st != (SweepStats{}) {
			t.Fatalf("third sweep: %+v", st)
		}
	})
}

func TestEraseKeepsOnlyTheSkeleton(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		u := f.user(t, "o-erase")
		c, _ := f.recognized(t, u, "male")
		v, err := f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
		if err != nil || v.State != string(store.Verified) {
			t.Fatal(v, err)
		}
		if err := f.svc.Erase(ctx, u); err != nil {
			t.Fatal(err)
		}
		var got model.Verification
		db.First(&got, v.ID)
		if got.NameEnc != nil || got.IDNumberEnc != nil || got.FieldsEnc != nil || got.IDNumberHash != nil ||
			got.NameMasked != "" || got.FrontBlob != "" || got.ErasedAt == nil || got.State != store.Erased {
			t.Fatalf("not erased: %+v", got)
		}
		files, _ := filepath.Glob(filepath.Join(f.dir, "*", "*"))
		if len(files) != 0 {
			t.Fatalf("%d photos left", len(files))
		}
		var ev model.WebhookEvent
		db.Where("verification_id = ?", v.ID).Take(&ev)
		if bytes.Contains([]byte(ev.Payload), []byte("name_masked")) {
			t.Fatalf("webhook payload kept: %s", ev.Payload)
		}
		var bindings int64
		db.Model(&model.IDBinding{}).Count(&bindings)
		if bindings != 0 {
			t.Fatal("binding kept")
		}
		var events []model.VerificationEvent
		db.Where("verification_id = ?", v.ID).Order("id").Find(&events)
		if len(events) < 4 || events[len(events)-1].Type != "erased" {
			t.Fatalf("audit skeleton: %d events", len(events))
		}
		// The chain still verifies.
		prev := ""
		for _, e := range events {
			if e.PrevHash != prev || EventHash(e) != e.Hash {
				t.Fatalf("event %d breaks the chain", e.ID)
			}
			prev = e.Hash
		}
		cur, _ := f.svc.Current(ctx, u)
		if !cur.Erased || cur.Front != nil || cur.State != string(store.Erased) {
			t.Fatalf("view after erase: %+v", cur)
		}
		// A repeated erasure answers as done and tells nobody again.
		if err := f.svc.Erase(ctx, u); err != nil {
			t.Fatal(err)
		}
		var erasedEvents int64
		db.Model(&model.WebhookEvent{}).Where("type = ?", HookDataErased).Count(&erasedEvents)
		if erasedEvents != 1 {
			t.Fatalf("%d user.data_erased events after two erasures, want 1", erasedEvents)
		}
	})
}

// TestConcurrentAccountsOneNumber: several accounts submitting the same
// number at once end with one verified and the rest in review, none left
// in checking and no request failing.
func TestConcurrentAccountsOneNumber(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		var users []User
		var c idcard.Card
		for i := range 4 {
			u := f.user(t, "o-same-"+string(rune('a'+i)))
			c, _ = f.recognized(t, u, "longterm")
			users = append(users, u)
		}
		views := make([]View, len(users))
		errs := make([]error, len(users))
		done := make(chan int)
		for i, u := range users {
			go func() {
				views[i], errs[i] = f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
				done <- i
			}()
		}
		for range users {
			<-done
		}
		verified := 0
		for i := range users {
			if errs[i] != nil {
				t.Fatalf("submit %d: %v", i, errs[i])
			}
			switch {
			case views[i].State == string(store.Verified):
				verified++
			case views[i].State == string(store.Review) && views[i].Reason == ReasonAlreadyBound:
			default:
				t.Fatalf("submit %d ended %s/%s", i, views[i].State, views[i].Reason)
			}
		}
		var checking, bindings int64
		db.Model(&model.Verification{}).Where("state = ?", string(store.Checking)).Count(&checking)
		db.Model(&model.IDBinding{}).Count(&bindings)
		if verified != 1 || checking != 0 || bindings != 1 {
			t.Fatalf("verified %d, checking %d, bindings %d; want 1, 0, 1", verified, checking, bindings)
		}
	})
}

// TestParallelFirstUploads: a Mini Program that sends both sides at once
// for a new user gets one verification holding both, not two drafts.
func TestParallelFirstUploads(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		db = f.db // carries the fixture's clock
		ctx := context.Background()
		for i := range 3 {
			u := f.user(t, fmt.Sprintf("o-parallel-%d", i))
			_, front, back := sampleCard(t, "longterm")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j, img := range [][]byte{front, back} {
				wg.Go(func() { _, errs[j] = f.svc.Upload(ctx, u, UploadInput{Image: img, Consent: "v1"}) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("uploads: %v, %v", errs[0], errs[1])
			}
			var vs []model.Verification
			if err := db.Where("user_id = ?", u.ID).Find(&vs).Error; err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || vs[0].State != store.Recognized {
				states := make([]string, len(vs))
				for k := range vs {
					states[k] = string(vs[k].State)
				}
				t.Fatalf("user %d: verifications in states %v, want one recognized", i, states)
			}
			var consents int64
			db.Model(&model.Consent{}).Where("user_id = ?", u.ID).Count(&consents)
			if consents == 0 {
				t.Fatalf("user %d: consent not recorded", i)
			}
		}
	})
}
