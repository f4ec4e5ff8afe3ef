package pii

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseKeyRing: a key spec from the environment either makes a ring
// that seals and opens, or an error that quotes no key material.
func FuzzParseKeyRing(f *testing.F) {
	f.Add("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	f.Add("k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY,k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
	f.Add("hash:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
	f.Add(":,:,")
	f.Add("k1:short")
	f.Fuzz(func(t *testing.T, spec string) {
		ring, err := ParseKeyRing(spec)
		if err != nil {
			for _, entry := range strings.Split(spec, ",") {
				if _, key, ok := strings.Cut(entry, ":"); ok && len(key) >= 16 && strings.Contains(err.Error(), key) {
					t.Fatalf("the error quotes key material: %v", err)
				}
			}
			return
		}
		sealed, err := ring.Encrypt([]byte("林浩然"), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ring.Decrypt(sealed, []byte("aad")); err != nil || !bytes.Equal(got, []byte("林浩然")) {
			t.Fatalf("round trip: %q %v", got, err)
		}
	})
}

// FuzzDecrypt: a stored ciphertext that was tampered with (or is not one)
// fails to open; it never opens to something else, and never panics.
func FuzzDecrypt(f *testing.F) {
	ring, err := ParseKeyRing("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := ring.Encrypt([]byte("110101199005142138"), []byte("aad"))
	f.Add(sealed)
	f.Add([]byte("k1:"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ring.Decrypt(data, []byte("aad"))
		if err == nil && !bytes.Equal(data, sealed) && !bytes.Equal(got, []byte("110101199005142138")) {
			// Only a ciphertext the ring sealed opens (AES-GCM forgery is
			// out of reach of a fuzzer).
			t.Fatalf("%x opened to %q", data, got)
		}
	})
}
