package pii_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"realname/service/pii"
)

// resealable is a photo store as the shared checks below use it.
type resealable interface {
	Get(ctx context.Context, ref string) ([]byte, error)
	Delete(ctx context.Context, ref string) error
	Walk(ctx context.Context, fn func(ref string) error) error
	Reseal(ctx context.Context, ref string, needs func([]byte) bool) (bool, error)
}

// rotateThenDelete is the end of every store's test: a new primary key,
// every photo resealed (want of them), the old key dropped and ref still
// opening to photo; then ref deleted, gone, and deleted again harmlessly.
func rotateThenDelete(t *testing.T, oldSpec, ref string, photo []byte, want int, open func(*pii.KeyRing) resealable) {
	t.Helper()
	ctx := context.Background()
	newSpec, _ := pii.GenerateKeySpec()
	rotated, err := pii.ParseKeyRing(newSpec + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	blobs := open(rotated)
	n := 0
	err = blobs.Walk(ctx, func(r string) error {
		done, err := blobs.Reseal(ctx, r, rotated.NeedsRotation)
		if done {
			n++
		}
		return err
	})
	if err != nil || n != want {
		t.Fatalf("resealed %d, want %d: %v", n, want, err)
	}
	onlyNew, _ := pii.ParseKeyRing(newSpec)
	if got, err := open(onlyNew).Get(ctx, ref); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("after dropping the old key: %v", err)
	}
	if err := blobs.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Get(ctx, ref); !errors.Is(err, pii.ErrNoBlob) {
		t.Fatalf("after delete: %v", err)
	}
	if err := blobs.Delete(ctx, ref); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}
