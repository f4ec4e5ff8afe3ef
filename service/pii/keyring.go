// Package pii protects the personal data realname handles (names, resident
// ID numbers, phone numbers, addresses): field encryption with a rotatable
// key ring, keyed hashes for lookups, masking for display, and a slog handler
// that keeps the raw values out of logs.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// Hash purposes. Each lookup column uses its own purpose so equal inputs in
// different columns never produce matching hashes.
const (
	PurposeIDNumber = "id_number"
	PurposeName     = "name"
	PurposeSession  = "session"
)

const (
	formatVersion = 1
	keySize       = 32
	maxKIDLen     = 16
	// gcmOverhead is the random nonce NewGCMWithRandomNonce prepends (12)
	// plus the GCM tag (16).
	gcmOverhead = 12 + 16
)

var (
	// ErrKeySpec reports an unusable key ring spec. Its messages name the bad
	// entry by position and kid but never quote key material.
	ErrKeySpec = errors.New("pii: bad key ring")
	// ErrUnknownKey reports a ciphertext sealed with a kid the ring does not
	// hold, usually because an old key was dropped before re-encryption ended.
	ErrUnknownKey = errors.New("pii: unknown key")
	// ErrDecrypt reports a ciphertext that is malformed, tampered with, or
	// presented with a different aad than it was sealed with.
	ErrDecrypt = errors.New("pii: cannot decrypt")
)

// KeyRing encrypts with its primary key and decrypts with any of its keys, so
// keys can be rotated without a stop-the-world re-encryption. It is immutable
// and safe for concurrent use.
type KeyRing struct {
	primary string
	aeads   map[string]cipher.AEAD
	hashKey []byte
	hashID  string
}

// PrimaryID returns the kid new ciphertexts are sealed with.
func (k *KeyRing) PrimaryID() string { return k.primary }

// HashKeyID returns "hash" when the spec carried a dedicated hash entry, else
// the primary kid. In the latter case rotating the primary key changes every
// lookup hash, which callers may want to warn about at start-up.
func (k *KeyRing) HashKeyID() string { return k.hashID }

// Encrypt seals plaintext with the primary key. aad must identify where the
// value lives (e.g. "verifications.id_number:42"): the same aad is needed to
// decrypt, so a ciphertext copied to another row or column is useless.
//
// Layout: version(1) | len(kid)(1) | kid | nonce(12) | ciphertext+tag. The
// header is authenticated too, so the kid cannot be swapped.
func (k *KeyRing) Encrypt(plaintext, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[k.primary]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, k.primary)
	}
	hdrLen := 2 + len(k.primary)
	out := make([]byte, 0, hdrLen+gcmOverhead+len(plaintext))
	out = append(out, formatVersion, byte(len(k.primary)))
	out = append(out, k.primary...)
	return aead.Seal(out, nil, plaintext, fullAAD(out[:hdrLen], aad)), nil
}

// Decrypt opens a ciphertext produced by Encrypt with any key of the ring.
func (k *KeyRing) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	kid, body, err := splitHeader(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	hdr := ciphertext[:len(ciphertext)-len(body)]
	plain, err := aead.Open(nil, nil, body, fullAAD(hdr, aad))
	if err != nil {
		// The cause is deliberately vague: GCM cannot tell tampering from a
		// wrong aad, and neither should leak which one it was.
		return nil, fmt.Errorf("%w: authentication failed (key %q)", ErrDecrypt, kid)
	}
	return plain, nil
}

// EncryptString is Encrypt for text fields.
func (k *KeyRing) EncryptString(plaintext string, aad []byte) ([]byte, error) {
	return k.Encrypt([]byte(plaintext), aad)
}

// DecryptString is Decrypt for text fields.
func (k *KeyRing) DecryptString(ciphertext, aad []byte) (string, error) {
	plain, err := k.Decrypt(ciphertext, aad)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// NeedsRotation reports whether ciphertext should be re-encrypted: it is true
// for anything not sealed with the primary key, malformed input included, so
// a rotation sweep surfaces garbage through Decrypt instead of skipping it.
// Empty (NULL) columns hold no ciphertext; callers skip them.
func (k *KeyRing) NeedsRotation(ciphertext []byte) bool {
	kid, _, err := splitHeader(ciphertext)
	return err != nil || kid != k.primary
}

// Hash returns a 32-byte HMAC-SHA256 of value for equality lookups on
// encrypted columns. purpose is length-prefixed into the input so a hash made
// for one purpose never matches one made for another. Callers normalise value
// first (e.g. upper-case the X check digit), since the hash is exact.
func (k *KeyRing) Hash(purpose string, value []byte) []byte {
	if k.hashKey == nil {
		// A zero KeyRing would otherwise hash with an empty key: lookups
		// would work and be trivially forgeable.
		panic("pii: Hash called on a KeyRing not made by ParseKeyRing")
	}
	m := hmac.New(sha256.New, k.hashKey)
	writeHash(m, purpose, value)
	return m.Sum(nil)
}

func writeHash(m hash.Hash, purpose string, value []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(purpose)))
	m.Write(n[:])
	m.Write([]byte(purpose))
	m.Write(value)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// The random-nonce mode owns nonce generation, so no caller can ever
	// reuse a nonce by mistake.
	return cipher.NewGCMWithRandomNonce(block)
}

// splitHeader returns the kid and the nonce+ciphertext+tag part.
func splitHeader(b []byte) (kid string, body []byte, err error) {
	if len(b) < 2 {
		return "", nil, fmt.Errorf("%w: too short", ErrDecrypt)
	}
	if b[0] != formatVersion {
		return "", nil, fmt.Errorf("%w: unsupported format version %d", ErrDecrypt, b[0])
	}
	n := int(b[1])
	if n == 0 || n > maxKIDLen || len(b) < 2+n+gcmOverhead {
		return "", nil, fmt.Errorf("%w: truncated or malformed header", ErrDecrypt)
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

// fullAAD prefixes the caller's aad with the header. The header is
// self-delimiting (it carries the kid length), so the concatenation is
// unambiguous.
func fullAAD(hdr, aad []byte) []byte {
	out := make([]byte, 0, len(hdr)+len(aad))
	return append(append(out, hdr...), aad...)
}
