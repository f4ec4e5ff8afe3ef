// Package piitest gives tests an S3-compatible photo store: the server
// named by REALNAME_TEST_S3 (CI starts SeaweedFS on loopback), with a key
// prefix private to the test and removed when it ends.
package piitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"realname/service/pii"
)

// S3Env is what the test environment names: REALNAME_TEST_S3 is an
// s3://bucket?endpoint=…&secure=false&path_style=true URL, the keys are in
// REALNAME_TEST_S3_ACCESS_KEY and REALNAME_TEST_S3_SECRET_KEY.
type S3Env struct {
	URL, AccessKey, SecretKey string
}

// S3FromEnv returns the environment's S3 store, or ok false when none is
// configured (a developer's machine; CI always sets it).
func S3FromEnv() (S3Env, bool) {
	e := S3Env{URL: os.Getenv("REALNAME_TEST_S3"), AccessKey: os.Getenv("REALNAME_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("REALNAME_TEST_S3_SECRET_KEY")}
	return e, e.URL != ""
}

// OpenS3 opens the store under a prefix of this test's own, deleting what
// the test left when it ends. It skips the test when no S3 is configured.
func OpenS3(t testing.TB, seal pii.Sealer) (*pii.S3Blobs, pii.S3Location, S3Env) {
	t.Helper()
	env, ok := S3FromEnv()
	if !ok {
		t.Skip("REALNAME_TEST_S3 is not set: no S3-compatible server to test against")
	}
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatalf("REALNAME_TEST_S3: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	u.Path = "/t_" + hex.EncodeToString(b)
	env.URL = u.String()
	loc, err := pii.ParseS3URL(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	// A server just started may still be creating its bucket.
	var blobs *pii.S3Blobs
	for i := 0; ; i++ {
		if blobs, err = pii.NewS3Blobs(context.Background(), loc, env.AccessKey, env.SecretKey, seal); err == nil {
			break
		}
		if i == 60 {
			t.Fatalf("S3 at %s: %v", loc.Endpoint, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = blobs.Walk(ctx, func(ref string) error { return blobs.Delete(ctx, ref) })
	})
	return blobs, loc, env
}
