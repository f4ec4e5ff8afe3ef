package idempotency_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"realname/service/idempotency"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
)

func mac(key string) idempotency.MAC {
	return func(b []byte) []byte {
		h := hmac.New(sha256.New, []byte(key))
		h.Write(b)
		return h.Sum(nil)
	}
}

// TestFingerprintsAreKeyed: a fingerprint depends on the key, so a known
// name and ID number cannot be checked against what Redis holds.
func TestFingerprintsAreKeyed(t *testing.T) {
	conn := redistest.Open(t)
	a := idempotency.NewStore(conn.Client, conn.Prefix, time.Hour, time.Minute, mac("one"), ring(t))
	b := idempotency.NewStore(conn.Client, conn.Prefix, time.Hour, time.Minute, mac("two"), ring(t))
	body := []byte(`{"name":"林浩然","id_number":"110101199005142138"}`)
	if a.Fingerprint(body) == b.Fingerprint(body) {
		t.Fatal("fingerprints do not depend on the key")
	}
	plain := sha256.Sum256(body)
	if fp := a.Fingerprint(body); fp == string(plain[:]) || a.Fingerprint(body) != a.Fingerprint(body) {
		t.Fatal("fingerprint is not a stable keyed hash")
	}
}

// TestEraseForgetsAnswers: after the user's erasure a retried key gets
// ErrErased, never the answer from before; other users are untouched.
func TestEraseForgetsAnswers(t *testing.T) {
	conn := redistest.Open(t)
	ctx := context.Background()
	s := idempotency.NewStore(conn.Client, conn.Prefix, time.Hour, time.Minute, mac("k"), ring(t))
	fp := s.Fingerprint([]byte("upload"))
	for _, scope := range []string{"7", "8"} {
		if prev, err := s.Begin(ctx, scope, "key-1", fp); err != nil || prev != nil {
			t.Fatalf("begin %s: %v %v", scope, prev, err)
		}
		if err := s.Finish(ctx, scope, "key-1", fp, idempotency.Response{Status: 200, Body: []byte(`{"name":"林**"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Erase(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx, "7", "key-1", fp); !errors.Is(err, idempotency.ErrErased) {
		t.Fatalf("a key answered before the erasure: %v", err)
	}
	if prev, err := s.Begin(ctx, "8", "key-1", fp); err != nil || prev == nil || prev.Status != 200 {
		t.Fatalf("another user's answer: %v %v", prev, err)
	}
	if prev, err := s.Begin(ctx, "7", "key-2", fp); err != nil || prev != nil {
		t.Fatalf("a new key after the erasure: %v %v", prev, err)
	}
}

func ring(t *testing.T) *pii.KeyRing {
	t.Helper()
	spec, err := pii.GenerateKeySpec()
	if err != nil {
		t.Fatal(err)
	}
	r, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAnswersAreSealed: an upload's answer shows its owner their card in
// full; Redis holds it only sealed, and a replay opens it whole.
func TestAnswersAreSealed(t *testing.T) {
	conn := redistest.Open(t)
	ctx := context.Background()
	s := idempotency.NewStore(conn.Client, conn.Prefix, time.Hour, time.Minute, mac("k"), ring(t))
	fp := s.Fingerprint([]byte("upload"))
	if _, err := s.Begin(ctx, "7", "key-1", fp); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"front":{"name":"林浩然","id_number":"110101199005142138"}}`)
	if err := s.Finish(ctx, "7", "key-1", fp, idempotency.Response{Status: 200, Body: body}); err != nil {
		t.Fatal(err)
	}
	keys, _ := conn.Client.Keys(ctx, conn.Prefix+"*").Result()
	for _, k := range keys {
		raw, _ := conn.Client.Get(ctx, k).Bytes()
		if strings.Contains(string(raw), "110101199005142138") || strings.Contains(string(raw), "林浩然") {
			t.Fatalf("%s holds the reading in clear: %s", k, raw)
		}
	}
	got, err := s.Begin(ctx, "7", "key-1", fp)
	if err != nil || got == nil || string(got.Body) != string(body) {
		t.Fatalf("replay: %+v %v", got, err)
	}
}
