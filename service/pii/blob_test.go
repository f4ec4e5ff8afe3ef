package pii_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"realname/service/pii"
)

func TestFileBlobs(t *testing.T) {
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
	ctx := context.Background()
	photo := []byte("\xff\xd8 pretend JPEG of 张三 110101199003078515")
	ref, err := blobs.Put(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := blobs.Get(ctx, ref)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("round trip: %v", err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, ref[:2], ref))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(onDisk, []byte("110101199003078515")) {
		t.Fatal("photo stored in clear")
	}
	// A sealed file moved under another name does not open.
	other, _ := blobs.Put(ctx, []byte("other"))
	if err := os.WriteFile(filepath.Join(dir, other[:2], other), onDisk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Get(ctx, other); err == nil {
		t.Fatal("swapped blob opened")
	}
	for _, bad := range []string{"../../etc/passwd", "", "ZZ", ref + "x"} {
		if _, err := blobs.Get(ctx, bad); !errors.Is(err, pii.ErrNoBlob) {
			t.Errorf("ref %q: %v", bad, err)
		}
	}
	if err := blobs.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Delete(ctx, ref); err != nil {
		t.Fatal("second delete:", err)
	}
	if _, err := blobs.Get(ctx, ref); !errors.Is(err, pii.ErrNoBlob) {
		t.Fatalf("after delete: %v", err)
	}
}
