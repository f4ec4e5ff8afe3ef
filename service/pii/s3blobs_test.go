package pii_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"realname/service/pii"
	"realname/service/pii/piitest"
)

// TestS3Blobs runs against the S3-compatible server of the environment
// (SeaweedFS in CI): objects sealed before they leave the process, signed
// requests (a wrong key is refused), walk, reseal after a rotation, delete.
func TestS3Blobs(t *testing.T) {
	oldSpec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	blobs, loc, env := piitest.OpenS3(t, ring)
	ctx := context.Background()
	photo := bytes.Repeat([]byte("\xff\xd8 pretend JPEG of 张三 110101199003078515 "), 20000)
	ref, err := blobs.Put(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := blobs.Get(ctx, ref)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("round trip: %v", err)
	}
	raw, err := minio.New(loc.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.AccessKey, env.SecretKey, ""),
		Secure: loc.Secure, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := raw.GetObject(ctx, loc.Bucket, loc.Prefix+ref, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || bytes.Contains(stored, []byte("110101199003078515")) || len(stored) < len(photo) {
		t.Fatalf("stored object (%d bytes): %v", len(stored), err)
	}
	if _, err := pii.NewS3Blobs(ctx, loc, env.AccessKey, "not-the-secret", ring); err == nil {
		t.Fatal("a wrong secret key was accepted: the server does not check signatures")
	}
	newSpec, _ := pii.GenerateKeySpec()
	rotated, _ := pii.ParseKeyRing(newSpec + "," + oldSpec)
	rb, err := pii.NewS3Blobs(ctx, loc, env.AccessKey, env.SecretKey, rotated)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := rb.Walk(ctx, func(r string) error {
		done, err := rb.Reseal(ctx, r, rotated.NeedsRotation)
		if done {
			n++
		}
		return err
	}); err != nil || n != 1 {
		t.Fatalf("resealed %d: %v", n, err)
	}
	onlyNew, _ := pii.ParseKeyRing(newSpec)
	nb, _ := pii.NewS3Blobs(ctx, loc, env.AccessKey, env.SecretKey, onlyNew)
	if got, err := nb.Get(ctx, ref); err != nil || !bytes.Equal(got, photo) {
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
