package pii

import (
	"bytes"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestParseKeyRingErrors(t *testing.T) {
	good, short := testKey(1), base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name, spec, want string
		secrets          []string // must not appear in the error
	}{
		{"empty", "  ", "empty spec", nil},
		{"bad base64", "k1:" + good[:20] + "!!" + good[22:], "entry 1 (kid \"k1\"): key is not valid base64", []string{good[:20]}},
		{"wrong length", "k1:" + short, "entry 1 (kid \"k1\"): key is 16 bytes, want 32", []string{short}},
		{"duplicate kid", "k1:" + good + ",k1:" + testKey(2), "entry 2: duplicate kid \"k1\"", []string{good, testKey(2)}},
		{"no colon", good, "entry 1: want kid:base64key", []string{good}},
		{"swapped", good + ":k1", "entry 1: kid must be", []string{good}},
		{"bad kid char", "k.1:" + good, "entry 1: kid must be", []string{good}},
		{"kid too long", strings.Repeat("k", 17) + ":" + good, "kid must be 1-16", []string{good}},
		{"trailing comma", "k1:" + good + ",", "entry 2 is empty", []string{good}},
		{"hash not first", "k1:" + good + ",hash:" + testKey(3), "entry 2: kid \"hash\" is reserved", []string{good, testKey(3)}},
		{"hash only", "hash:" + good, "no encryption key", []string{good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyRing(tt.spec)
			if !errors.Is(err, ErrKeySpec) {
				t.Fatalf("err = %v, want ErrKeySpec", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "pii: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("err = %q, want it to contain %q", msg, tt.want)
			}
			for _, s := range tt.secrets {
				if strings.Contains(msg, s) {
					t.Errorf("err %q leaks key material", msg)
				}
			}
		})
	}
}

func TestParseKeyRingEncodings(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff}, 16) // encodes differently in std and url alphabets
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		spec := "kid_1-A:" + enc.EncodeToString(raw)
		t.Run(spec, func(t *testing.T) {
			ref := mustRing(t, "kid_1-A:"+base64.StdEncoding.EncodeToString(raw))
			k := mustRing(t, spec)
			ct, _ := ref.Encrypt([]byte("x"), nil)
			if got, err := k.Decrypt(ct, nil); err != nil || string(got) != "x" {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
		})
	}
}

func TestGenerateKeySpec(t *testing.T) {
	spec, err := GenerateKeySpec()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^k\d{8}[0-9a-f]{4}:[A-Za-z0-9+/]{43}=$`).MatchString(spec) {
		t.Fatalf("spec %q has the wrong shape", spec)
	}
	other, _ := GenerateKeySpec()
	if other == spec {
		t.Fatal("two generated specs are equal")
	}
	k := mustRing(t, other+","+spec)
	ct, _ := k.EncryptString("x", nil)
	if got, err := k.DecryptString(ct, nil); err != nil || got != "x" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
}
