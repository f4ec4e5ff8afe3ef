package pii_test

import (
	"bytes"
	"context"
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
	rotateThenDelete(t, oldSpec, ref, photo, 1, func(ring *pii.KeyRing) resealable {
		b, err := pii.NewS3Blobs(ctx, loc, env.AccessKey, env.SecretKey, ring)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
