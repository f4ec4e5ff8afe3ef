package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/pii"
	"realname/service/store"
)

// keeper is a photo keeper as the flow uses it (verify.Photos).
type keeper interface {
	Add(ctx context.Context, data []byte, step func(ctx context.Context, ref string) error) error
	Drop(ctx context.Context, refs ...string) error
	SweepOrphans(ctx context.Context, before time.Time, limit int) (int, error)
}

// readableBlobs is a blob store the test can read back.
type readableBlobs interface {
	store.Blobs
	Get(ctx context.Context, ref string) ([]byte, error)
}

// TestPhotoKeepers: whether photos ride in the step's transaction (SQL),
// beside it with the journal (S3) or staged beside it (files), a photo outlives
// Add only if its step commits, Drop takes effect only with its
// transaction's commit, nothing stays journaled after either, and a photo
// a crash left journaled or staged is swept after the grace time.
func TestPhotoKeepers(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		for name, open := range map[string]func(e *env, ring *pii.KeyRing) (keeper, readableBlobs, crash){
			"in the transaction": func(e *env, ring *pii.KeyRing) (keeper, readableBlobs, crash) {
				b := pii.NewSQLBlobs(func(ctx context.Context) *gorm.DB { return store.Joined(ctx, e.db) }, ring, e.clk.Now)
				return e.st.TxPhotos(b), b, journalThenWrite(e, b)
			},
			"journaled beside it": func(e *env, ring *pii.KeyRing) (keeper, readableBlobs, crash) {
				b, err := pii.NewFileBlobs(t.TempDir(), ring)
				if err != nil {
					t.Fatal(err)
				}
				return e.st.JournaledPhotos(b), b, journalThenWrite(e, b)
			},
			"staged beside it": func(e *env, ring *pii.KeyRing) (keeper, readableBlobs, crash) {
				b, err := pii.NewFileBlobs(t.TempDir(), ring)
				if err != nil {
					t.Fatal(err)
				}
				return e.st.StagedPhotos(b), b, func(ctx context.Context, ref string, data []byte) error {
					return b.Stage(ctx, ref, data, e.clk.Now())
				}
			},
		} {
			t.Run(name, func(t *testing.T) { testKeeper(t, newEnv(t, db), open) })
		}
	})
}

// crash leaves a photo as a crash between writing it and committing its
// step would.
type crash func(ctx context.Context, ref string, data []byte) error

// journalThenWrite is the crash of a journaling keeper.
func journalThenWrite(e *env, b store.Blobs) crash {
	return func(ctx context.Context, ref string, data []byte) error {
		if err := e.st.Journal(ctx, ref); err != nil {
			return err
		}
		return b.PutRef(ctx, ref, data)
	}
}

func testKeeper(t *testing.T, e *env, open func(*env, *pii.KeyRing) (keeper, readableBlobs, crash)) {
	ctx := context.Background()
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	k, blobs, crashed := open(e, ring)
	journaled := func() int64 {
		var n int64
		e.db.Model(&model.BlobJournal{}).Count(&n)
		return n
	}
	stored := func(ref string) bool {
		_, err := blobs.Get(ctx, ref)
		if err != nil && !errors.Is(err, pii.ErrNoBlob) {
			t.Fatal(err)
		}
		return err == nil
	}
	var kept string
	if err := k.Add(ctx, []byte("front"), func(_ context.Context, ref string) error { kept = ref; return nil }); err != nil {
		t.Fatal(err)
	}
	if !stored(kept) || journaled() != 0 {
		t.Fatalf("committed: stored %v, %d journaled", stored(kept), journaled())
	}
	refused := errors.New("refused")
	var lost string
	if err := k.Add(ctx, []byte("back"), func(_ context.Context, ref string) error { lost = ref; return refused }); !errors.Is(err, refused) {
		t.Fatalf("Add of a refused step: %v", err)
	}
	if stored(lost) || journaled() != 0 {
		t.Fatalf("refused: stored %v, %d journaled", stored(lost), journaled())
	}
	err = e.st.InTx(ctx, func(ctx context.Context) error {
		if err := k.Drop(ctx, kept, ""); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) || !stored(kept) || journaled() != 0 {
		t.Fatalf("dropped in a rollback: %v, stored %v, %d journaled", err, stored(kept), journaled())
	}
	if err := e.st.InTx(ctx, func(ctx context.Context) error { return k.Drop(ctx, kept) }); err != nil {
		t.Fatal(err)
	}
	if stored(kept) || journaled() != 0 {
		t.Fatalf("dropped: stored %v, %d journaled", stored(kept), journaled())
	}
	// A crash between writing a photo and committing its step.
	orphan := pii.NewRef()
	if err := crashed(ctx, orphan, []byte("never named")); err != nil {
		t.Fatal(err)
	}
	if n, err := k.SweepOrphans(ctx, e.clk.Now().Add(-time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("sweep within the grace time: %d %v", n, err)
	}
	e.clk.Advance(2 * time.Hour)
	if n, err := k.SweepOrphans(ctx, e.clk.Now().Add(-time.Hour), 10); err != nil || n != 1 || stored(orphan) || journaled() != 0 {
		t.Fatalf("sweep: %d %v, stored %v, %d journaled", n, err, stored(orphan), journaled())
	}
}

// TestStagedPhotoNamedBeforeACrashIsKept: a process that died after its
// step committed and before publishing the photo leaves it staged; it
// reads as stored, and the sweeper publishes it instead of deleting it.
func TestStagedPhotoNamedBeforeACrashIsKept(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		spec, _ := pii.GenerateKeySpec()
		ring, err := pii.ParseKeyRing(spec)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pii.NewFileBlobs(t.TempDir(), ring)
		if err != nil {
			t.Fatal(err)
		}
		v := e.open(t, "o-staged")
		ref := pii.NewRef()
		if err := b.Stage(ctx, ref, []byte("front"), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Step(ctx, v.ID, func(context.Context, *model.Verification) (store.Change, error) {
			return store.Change{To: store.Draft, Event: "idcard_read", Actor: "system", Set: store.Patch{FrontBlob: &ref}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		// The crash: no Publish.
		if got, err := b.Get(ctx, ref); err != nil || string(got) != "front" {
			t.Fatalf("before the sweep: %q %v", got, err)
		}
		e.clk.Advance(2 * time.Hour)
		n, err := e.st.StagedPhotos(b).SweepOrphans(ctx, e.clk.Now().Add(-time.Hour), 10)
		if err != nil || n != 0 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if left, err := b.Staged(ctx, e.clk.Now(), 10); err != nil || len(left) != 0 {
			t.Fatalf("still staged: %v %v", left, err)
		}
		if got, err := b.Get(ctx, ref); err != nil || string(got) != "front" {
			t.Fatalf("after the sweep: %q %v", got, err)
		}
	})
}
