package review

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/keys"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/pii/piitest"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/service/verify"
)

// sharedPhotos is a photo store every instance reaches (pii.SQLBlobs,
// pii.S3Blobs).
type sharedPhotos interface {
	store.Blobs
	keys.Blobs
	Get(ctx context.Context, ref string) ([]byte, error)
}

// keeper is how the flow keeps photos in a shared store: in the step's
// transaction (SQL) or journaled beside it (S3).
type keeper func(st *store.Store, blobs sharedPhotos) verify.Photos

// instance is one realname process as far as photos go: its own store,
// flow and review pages over the shared database and photo store.
type instance struct {
	flow   *verify.Service
	review *Service
}

// TestPhotosSharedByEveryInstance: with photos in the database and in an
// S3-compatible store, the front read by A and the back by B are both
// shown to staff on A, B and C; an erasure through C and the retention
// sweep leave no photo (no row, no object, no journal entry); after a key
// rotation and dropping the old key every photo still opens.
func TestPhotosSharedByEveryInstance(t *testing.T) {
	t.Run("sql", func(t *testing.T) {
		modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
			testSharedPhotos(t, db, func(st *store.Store, ring *pii.KeyRing, now func() time.Time) sharedPhotos {
				return pii.NewSQLBlobs(func(ctx context.Context) *gorm.DB { return store.Joined(ctx, db) }, ring, now)
			}, func(st *store.Store, b sharedPhotos) verify.Photos { return st.TxPhotos(b) })
		})
	})
	t.Run("s3", func(t *testing.T) {
		modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
			spec, _ := pii.GenerateKeySpec()
			probe, _ := pii.ParseKeyRing(spec)
			_, loc, env := piitest.OpenS3(t, probe) // a prefix of this run's own
			testSharedPhotos(t, db, func(_ *store.Store, ring *pii.KeyRing, _ func() time.Time) sharedPhotos {
				b, err := pii.NewS3Blobs(context.Background(), loc, env.AccessKey, env.SecretKey, ring)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}, func(st *store.Store, b sharedPhotos) verify.Photos { return st.JournaledPhotos(b) })
		})
	})
}

func testSharedPhotos(t *testing.T, db *gorm.DB, open func(*store.Store, *pii.KeyRing, func() time.Time) sharedPhotos, keep keeper) {
	{
		ctx := context.Background()
		srv := vendorSandbox(t)
		f := newFixture(t, db)
		db = f.db
		conn := redistest.Open(t)
		build := func(ring *pii.KeyRing) instance {
			st := store.New(db, f.clk, quiet)
			blobs := open(st, ring, f.clk.Now)
			return instance{flow: realFlow(t, srv, st, conn, ring, keep(st, blobs), f.clk), review: New(Deps{Reads: db, Crypto: ring, Blobs: blobs, Store: st, Log: quiet}, Options{Clock: f.clk})}
		}
		a, b, c := build(f.ring), build(f.ring), build(f.ring)
		lister := open(store.New(db, f.clk, quiet), f.ring, f.clk.Now)
		photos := func() int64 {
			var n int64
			if err := lister.Walk(context.Background(), func(string) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			var journaled int64
			db.Model(&model.BlobJournal{}).Count(&journaled)
			if journaled != 0 {
				t.Fatalf("%d journal entries outlived their step", journaled)
			}
			return n
		}
		// One case in review, its sides read by two instances.
		vid, u := uploadAcross(t, db, a.flow, b.flow, c.flow, "norecord", "o-shared-1")
		ann := f.admin(t, "ann", "reviewer")
		if err := a.review.Claim(ctx, vid, ann); err != nil {
			t.Fatal(err)
		}
		if _, err := a.review.Reveal(ctx, vid, Staff{AdminID: ann}, ""); err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]instance{"A": a, "B": b, "C": c} {
			for _, side := range []string{"front", "back"} {
				if img, err := in.review.Photo(ctx, vid, ann, side); err != nil || len(img) < 100 {
					t.Fatalf("%s on instance %s: %v", side, name, err)
				}
			}
		}
		if n := photos(); n != 2 {
			t.Fatalf("%d photo rows, want 2", n)
		}
		// Erasure through C: nothing of the photos is left anywhere.
		if err := c.flow.Erase(ctx, u); err != nil {
			t.Fatal(err)
		}
		if n := photos(); n != 0 {
			t.Fatalf("%d photo rows after erasure", n)
		}
		// Retention: a verified case's photos go after the retention time.
		uploadAcross(t, db, b.flow, c.flow, a.flow, "male", "o-shared-2")
		if n := photos(); n != 2 {
			t.Fatalf("%d photo rows, want 2", n)
		}
		f.clk.Advance(verify.DefaultPolicy().PhotoRetention + time.Hour)
		if st, err := b.flow.Sweep(ctx, 100); err != nil || st.PhotosDeleted != 1 {
			t.Fatalf("sweep: %+v %v", st, err)
		}
		if n := photos(); n != 0 {
			t.Fatalf("%d photo rows after retention", n)
		}
		// Rotation: a new primary key, `keys rotate`, the old key dropped.
		vid3, _ := uploadAcross(t, db, c.flow, a.flow, b.flow, "norecord", "o-shared-3")
		newSpec, _ := pii.GenerateKeySpec()
		both, err := pii.ParseKeyRing(newSpec + "," + f.ringSpec)
		if err != nil {
			t.Fatal(err)
		}
		st := store.New(db, f.clk, quiet)
		stats, err := keys.New(keys.Deps{DB: db, Store: st, Ring: both, Blobs: open(st, both, f.clk.Now), Batch: 100, Log: quiet}).Run(ctx)
		if err != nil || stats.Blobs != 2 {
			t.Fatalf("rotate: %+v %v", stats, err)
		}
		onlyNew, _ := pii.ParseKeyRing(newSpec)
		after := build(onlyNew)
		bob := f.admin(t, "bob", "reviewer")
		if err := after.review.Claim(ctx, vid3, bob); err != nil {
			t.Fatal(err)
		}
		if _, err := after.review.Reveal(ctx, vid3, Staff{AdminID: bob}, ""); err != nil {
			t.Fatal(err)
		}
		for _, side := range []string{"front", "back"} {
			img, err := after.review.Photo(ctx, vid3, bob, side)
			if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) && !bytes.HasPrefix(img, []byte("\xff\xd8")) {
				t.Fatalf("%s after rotation: %v", side, err)
			}
		}
	}
}

// uploadAcross reads a card's front through one instance, its back
// through another and submits through a third.
func uploadAcross(t *testing.T, db *gorm.DB, front, back, submit *verify.Service, key, openid string) (int64, verify.User) {
	t.Helper()
	ctx := context.Background()
	c, frontImg, backImg := cardImages(t, key)
	u := model.User{AppID: "wxtest", OpenID: openid}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	vu := verify.User{ID: u.ID, AppID: u.AppID}
	if _, err := front.Upload(ctx, vu, verify.UploadInput{Image: frontImg, Side: ocr.SideFront, Consent: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := back.Upload(ctx, vu, verify.UploadInput{Image: backImg, Side: ocr.SideBack}); err != nil {
		t.Fatal(err)
	}
	view, err := submit.Submit(ctx, vu, verify.Claim{Name: c.Name, IDNumber: c.IDNumber})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return view.ID, vu
}
