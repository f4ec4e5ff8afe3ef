package verify

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/store"
)

// gatedOCR holds every recognition until the test opens the gate, so an
// erasure can land while the vendors are reading.
type gatedOCR struct {
	inner   OCR
	reached chan struct{}
	gate    chan struct{}
}

func (g gatedOCR) Recognize(ctx context.Context, req ocr.Request) (ocr.Result, []ocr.Attempt, error) {
	g.reached <- struct{}{}
	<-g.gate
	return g.inner.Recognize(ctx, req)
}

// gatedCheck does the same for the name/ID check.
type gatedCheck struct {
	inner   IDCheck
	reached chan struct{}
	gate    chan struct{}
}

func (g gatedCheck) Check(ctx context.Context, name, number string) (idcheck.Decision, error) {
	g.reached <- struct{}{}
	<-g.gate
	return g.inner.Check(ctx, name, number)
}

// erasedOnce checks the one consistent end of an erasure race: every
// verification of u erased and empty, no photo left on disk, one
// user.data_erased event, and an intact audit chain ending in "erased".
func (f *fixture) erasedOnce(t *testing.T, u User) {
	t.Helper()
	var vs []model.Verification
	f.db.Where("user_id = ?", u.ID).Find(&vs)
	if len(vs) == 0 {
		t.Fatal("no verification")
	}
	for _, v := range vs {
		if v.State != store.Erased || v.ErasedAt == nil || v.FieldsEnc != nil || v.FrontBlob != "" || v.BackBlob != "" || v.NameEnc != nil {
			t.Fatalf("verification %d after the race: %+v", v.ID, v)
		}
		var events []model.VerificationEvent
		f.db.Where("verification_id = ?", v.ID).Order("id").Find(&events)
		prev := ""
		for _, e := range events {
			if e.PrevHash != prev || EventHash(e) != e.Hash {
				t.Fatalf("event %d breaks the chain", e.ID)
			}
			prev = e.Hash
		}
		if last := events[len(events)-1]; last.Type != "erased" {
			t.Fatalf("last event %s, want erased", last.Type)
		}
	}
	files, _ := filepath.Glob(filepath.Join(f.dir, "*", "*"))
	if len(files) != 0 {
		t.Fatalf("%d photos left after erasure", len(files))
	}
	var journaled int64
	f.db.Model(&model.BlobJournal{}).Count(&journaled)
	if journaled != 0 {
		t.Fatalf("%d journal entries outlived the erasure", journaled)
	}
	var user model.User
	f.db.Take(&user, u.ID)
	var n int64
	f.db.Model(&model.WebhookEvent{}).Where("type = ? AND payload LIKE ?", HookDataErased, `%"openid":"`+user.OpenID+`"%`).Count(&n)
	if n != 1 {
		t.Fatalf("%d user.data_erased events, want 1", n)
	}
	cur, err := f.svc.Current(context.Background(), u)
	if err != nil || cur.State != string(store.Erased) {
		t.Fatalf("status after erasure: %+v %v", cur, err)
	}
}

// TestUploadLosesToErase: an erasure landing while the vendors read a
// photo wins; the upload is refused and leaves nothing behind, whether it
// was the first photo or a second one into an open verification.
func TestUploadLosesToErase(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		for _, first := range []bool{true, false} {
			f := newFixture(t, db)
			ctx := context.Background()
			u := f.user(t, map[bool]string{true: "o-up-first", false: "o-up-second"}[first])
			_, front, back := sampleCard(t, "male")
			if !first {
				if _, err := f.svc.Upload(ctx, u, UploadInput{Image: front, Consent: "v1"}); err != nil {
					t.Fatal(err)
				}
			}
			g := gatedOCR{inner: f.svc.ocr, reached: make(chan struct{}), gate: make(chan struct{})}
			f.svc.ocr = g
			done := make(chan error, 1)
			go func() {
				_, err := f.svc.Upload(ctx, u, UploadInput{Image: back, Consent: "v1"})
				done <- err
			}()
			<-g.reached
			if err := f.svc.Erase(ctx, u); err != nil {
				t.Fatal(err)
			}
			close(g.gate)
			if err := <-done; !errors.Is(err, ErrErased) {
				t.Fatalf("upload after erasure (first=%v): %v", first, err)
			}
			if first {
				// Nothing was open when the erasure ran: the user row
				// alone shows it, and no verification was created.
				var n int64
				f.db.Model(&model.Verification{}).Where("user_id = ?", u.ID).Count(&n)
				if n != 0 {
					t.Fatalf("%d verifications created after the erasure", n)
				}
				continue
			}
			f.erasedOnce(t, u)
		}
	})
}

// TestCheckLosesToErase: a name/ID check in flight when the user erases
// ends erased, not in checking or review, and is never verified.
func TestCheckLosesToErase(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		u := f.user(t, "o-check-erase")
		c, _ := f.recognized(t, u, "male")
		g := gatedCheck{inner: f.svc.check, reached: make(chan struct{}), gate: make(chan struct{})}
		f.svc.check = g
		done := make(chan error, 1)
		go func() {
			_, err := f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
			done <- err
		}()
		<-g.reached
		if err := f.svc.Erase(ctx, u); err != nil {
			t.Fatal(err)
		}
		close(g.gate)
		if err := <-done; !errors.Is(err, ErrErased) {
			t.Fatalf("submit after erasure: %v", err)
		}
		f.erasedOnce(t, u)
		var bindings int64
		f.db.Model(&model.IDBinding{}).Count(&bindings)
		if bindings != 0 {
			t.Fatalf("%d ID bindings after erasure", bindings)
		}
	})
}

// TestRepeatedEraseEmitsOnce: many DELETEs at once erase once.
func TestRepeatedEraseEmitsOnce(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		u := f.user(t, "o-erase-many")
		f.recognized(t, u, "female")
		errs := make(chan error, 20)
		for range 20 {
			go func() { errs <- f.svc.Erase(ctx, u) }()
		}
		for range 20 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		f.erasedOnce(t, u)
	})
}

// TestErasedNumberVerifiesElsewhere: erasure releases the number's
// binding together with the account's verified status, so the same
// person can verify on another account, and the first reads erased.
func TestErasedNumberVerifiesElsewhere(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a, b := f.user(t, "o-bound-a"), f.user(t, "o-bound-b")
		c, _ := f.recognized(t, a, "longterm")
		if v, err := f.svc.Submit(ctx, a, Claim{Name: c.Name, IDNumber: c.IDNumber}); err != nil || v.State != string(store.Verified) {
			t.Fatalf("first account: %+v %v", v, err)
		}
		if err := f.svc.Erase(ctx, a); err != nil {
			t.Fatal(err)
		}
		f.recognized(t, b, "longterm")
		if v, err := f.svc.Submit(ctx, b, Claim{Name: c.Name, IDNumber: c.IDNumber}); err != nil || v.State != string(store.Verified) {
			t.Fatalf("second account after the first erased: %+v %v", v, err)
		}
		if cur, _ := f.svc.Current(ctx, a); cur.State != string(store.Erased) {
			t.Fatalf("erased account reads %s", cur.State)
		}
	})
}

// TestSweepDeletesOrphanedPhotos: a photo written for a step that never
// committed (the process died in between) is journaled; the sweeper
// deletes it once the grace time has passed, and never a photo a
// verification names.
func TestSweepDeletesOrphanedPhotos(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		u := f.user(t, "o-orphan")
		f.recognized(t, u, "male")
		// A crash between writing a photo and committing its step.
		ref := pii.NewRef()
		if err := f.svc.store.Journal(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if err := f.blobs.PutRef(ctx, ref, []byte("never named")); err != nil {
			t.Fatal(err)
		}
		files := func() int {
			got, _ := filepath.Glob(filepath.Join(f.dir, "*", "*"))
			return len(got)
		}
		if n := files(); n != 3 {
			t.Fatalf("%d photos, want 3", n)
		}
		if st, err := f.svc.Sweep(ctx, 100); err != nil || st.Orphans != 0 {
			t.Fatalf("sweep within the grace time: %+v %v", st, err)
		}
		f.clk.Advance(orphanGrace + time.Minute)
		if st, err := f.svc.Sweep(ctx, 100); err != nil || st.Orphans != 1 {
			t.Fatalf("sweep: %+v %v", st, err)
		}
		if n := files(); n != 2 {
			t.Fatalf("%d photos after the sweep, want the 2 the verification names", n)
		}
		var journaled int64
		f.db.Model(&model.BlobJournal{}).Count(&journaled)
		if journaled != 0 {
			t.Fatalf("%d journal entries left", journaled)
		}
	})
}

// TestUploadLimitBeforeDecoding: past the day's uploads, a photo is not
// even decoded: a file that is no image gets the limit's answer, not the
// image's.
func TestUploadLimitBeforeDecoding(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	f.svc.policy.UploadsPerDay = 2
	ctx := context.Background()
	u := f.user(t, "o-limit")
	f.recognized(t, u, "male")
	var many *TooManyError
	if _, err := f.svc.Upload(ctx, u, UploadInput{Image: []byte("not an image at all")}); !errors.As(err, &many) {
		t.Fatalf("third upload of the day: %v", err)
	}
}
