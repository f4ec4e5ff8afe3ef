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

// TestPhotoKeepers: whether photos ride in the step's transaction (SQL)
// or beside it with the journal (files, and S3 alike), a photo outlives
// Add only if its step commits, Drop takes effect only with its
// transaction's commit, nothing stays journaled after either, and a photo
// a crash left journaled is swept after the grace time.
func TestPhotoKeepers(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		for name, open := range map[string]func(e *env, ring *pii.KeyRing) (keeper, readableBlobs){
			"in the transaction": func(e *env, ring *pii.KeyRing) (keeper, readableBlobs) {
				b := pii.NewSQLBlobs(func(ctx context.Context) *gorm.DB { return store.Joined(ctx, e.db) }, ring, e.clk.Now)
				return e.st.TxPhotos(b), b
			},
			"journaled beside it": func(e *env, ring *pii.KeyRing) (keeper, readableBlobs) {
				b, err := pii.NewFileBlobs(t.TempDir(), ring)
				if err != nil {
					t.Fatal(err)
				}
				return e.st.JournaledPhotos(b), b
			},
		} {
			t.Run(name, func(t *testing.T) { testKeeper(t, newEnv(t, db), open) })
		}
	})
}

func testKeeper(t *testing.T, e *env, open func(*env, *pii.KeyRing) (keeper, readableBlobs)) {
	ctx := context.Background()
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	k, blobs := open(e, ring)
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
	if err := e.st.Journal(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	if err := blobs.PutRef(ctx, orphan, []byte("never named")); err != nil {
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
