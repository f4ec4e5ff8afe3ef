package pii

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func mustRing(t *testing.T, spec string) *KeyRing {
	t.Helper()
	k, err := ParseKeyRing(spec)
	if err != nil {
		t.Fatalf("ParseKeyRing: %v", err)
	}
	return k
}

func TestEncryptDecrypt(t *testing.T) {
	k := mustRing(t, "k1:"+testKey(1))
	aad := []byte("verifications.id_number:42")
	tests := []struct {
		name  string
		plain string
	}{
		{"empty", ""},
		{"id", "11010119900307123X"},
		{"chinese", "艾力·吐尔逊"},
		{"long", strings.Repeat("北京市朝阳区", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := k.EncryptString(tt.plain, aad)
			if err != nil {
				t.Fatal(err)
			}
			if tt.plain != "" && bytes.Contains(ct, []byte(tt.plain)) {
				t.Fatal("ciphertext contains the plaintext")
			}
			got, err := k.DecryptString(ct, aad)
			if err != nil || got != tt.plain {
				t.Fatalf("DecryptString = %q, %v; want %q", got, err, tt.plain)
			}
			ct2, _ := k.EncryptString(tt.plain, aad)
			if bytes.Equal(ct, ct2) {
				t.Fatal("two encryptions are equal: nonce reused")
			}
		})
	}
}

func TestDecryptFailures(t *testing.T) {
	k := mustRing(t, "k1:"+testKey(1))
	aad := []byte("users.session_key:7")
	ct, err := k.Encrypt([]byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 1
		return c
	}
	other := mustRing(t, "k9:"+testKey(9))
	otherCT, _ := other.Encrypt([]byte("secret"), aad)
	sameKid := mustRing(t, "k1:"+testKey(2))
	sameKidCT, _ := sameKid.Encrypt([]byte("secret"), aad)
	tests := []struct {
		name string
		ct   []byte
		aad  []byte
		want error
	}{
		{"wrong aad", ct, []byte("users.session_key:8"), ErrDecrypt},
		{"nil aad", ct, nil, ErrDecrypt},
		{"tampered last byte", flip(len(ct) - 1), aad, ErrDecrypt},
		{"tampered nonce", flip(2 + 2), aad, ErrDecrypt},
		{"tampered version", flip(0), aad, ErrDecrypt},
		{"truncated", ct[:len(ct)-1], aad, ErrDecrypt},
		{"header only", ct[:4], aad, ErrDecrypt},
		{"empty", nil, aad, ErrDecrypt},
		{"unknown kid", otherCT, aad, ErrUnknownKey},
		{"same kid other key", sameKidCT, aad, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Decrypt(tt.ct, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := mustRing(t, "k1:"+testKey(1))
	rotated := mustRing(t, "k2:"+testKey(2)+", k1:"+testKey(1))
	aad := []byte("t.c:1")
	oldCT, _ := old.EncryptString("张三", aad)
	if old.NeedsRotation(oldCT) {
		t.Error("old ring: NeedsRotation of its own ciphertext")
	}
	if !rotated.NeedsRotation(oldCT) {
		t.Error("rotated ring: NeedsRotation = false for a k1 ciphertext")
	}
	if got, err := rotated.DecryptString(oldCT, aad); err != nil || got != "张三" {
		t.Fatalf("rotated ring decrypts old ciphertext: %q, %v", got, err)
	}
	newCT, _ := rotated.EncryptString("张三", aad)
	if rotated.NeedsRotation(newCT) || rotated.PrimaryID() != "k2" {
		t.Errorf("new ciphertext should use k2 (primary %q)", rotated.PrimaryID())
	}
	if _, err := old.Decrypt(newCT, aad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old ring on k2 ciphertext: %v, want ErrUnknownKey", err)
	}
	if !rotated.NeedsRotation([]byte{9, 9}) {
		t.Error("NeedsRotation of garbage = false")
	}
}

func TestHash(t *testing.T) {
	hashEntry := "hash:" + testKey(7) + ","
	before := mustRing(t, hashEntry+"k1:"+testKey(1))
	after := mustRing(t, hashEntry+"k2:"+testKey(2)+",k1:"+testKey(1))
	implicit1 := mustRing(t, "k1:"+testKey(1))
	implicit2 := mustRing(t, "k2:"+testKey(2)+",k1:"+testKey(1))
	id := []byte("11010119900307123X")

	h := before.Hash(PurposeIDNumber, id)
	if len(h) != 32 {
		t.Fatalf("len(Hash) = %d", len(h))
	}
	tests := []struct {
		name  string
		other []byte
		equal bool
	}{
		{"stable across rotation with hash entry", after.Hash(PurposeIDNumber, id), true},
		{"deterministic", before.Hash(PurposeIDNumber, id), true},
		{"other purpose", before.Hash(PurposeName, id), false},
		{"purpose boundary", before.Hash("id_numbe", append([]byte("r"), id...)), false},
		{"other value", before.Hash(PurposeIDNumber, []byte("110101199003071234")), false},
		{"implicit key differs from hash entry", implicit1.Hash(PurposeIDNumber, id), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(h, tt.other) != tt.equal {
				t.Fatalf("equal = %v, want %v", !tt.equal, tt.equal)
			}
		})
	}
	if before.HashKeyID() != HashEntryID || implicit1.HashKeyID() != "k1" {
		t.Errorf("HashKeyID = %q, %q", before.HashKeyID(), implicit1.HashKeyID())
	}
	if bytes.Equal(implicit1.Hash(PurposeName, id), implicit2.Hash(PurposeName, id)) {
		t.Error("without a hash entry the hash key should follow the primary key")
	}
}
