package pii

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// HashEntryID is the reserved kid of the optional leading spec entry that
// holds the lookup-hash key. Keeping it apart from the encryption keys lets
// those rotate without invalidating every stored hash.
const HashEntryID = "hash"

// hashInfo is the HKDF context: the hash key is never the raw entry key, so
// even the fallback (derived from the primary) is independent of the AES key.
const hashInfo = "realname hash v1"

// ParseKeyRing parses "kid:base64key[,kid:base64key…]". The first key
// encrypts, every key decrypts. A leading "hash:base64key" entry, if present,
// supplies the lookup-hash key; without it the hash key is derived from the
// primary key, and rotating the primary then changes every hash.
//
// Keys are 32 bytes in standard or URL base64, padded or not; kids are 1–16
// characters of [A-Za-z0-9_-] and unique. Errors wrap ErrKeySpec, name the
// bad entry (1-based) and never contain key material, so callers can print
// them, e.g. as "REALNAME_MASTER_KEY: " + err.Error().
func ParseKeyRing(spec string) (*KeyRing, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty spec", ErrKeySpec)
	}
	k := &KeyRing{aeads: map[string]cipher.AEAD{}}
	var hashSecret []byte
	for i, entry := range strings.Split(spec, ",") {
		pos := i + 1
		kid, key, err := parseEntry(pos, entry)
		if err != nil {
			return nil, err
		}
		if kid == HashEntryID {
			if i != 0 {
				return nil, fmt.Errorf("%w: entry %d: kid %q is reserved for the hash key and must come first", ErrKeySpec, pos, kid)
			}
			hashSecret = key
			continue
		}
		if _, dup := k.aeads[kid]; dup {
			return nil, fmt.Errorf("%w: entry %d: duplicate kid %q", ErrKeySpec, pos, kid)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (kid %q): %v", ErrKeySpec, pos, kid, err)
		}
		k.aeads[kid] = aead
		if k.primary == "" {
			k.primary = kid
			if hashSecret == nil {
				hashSecret, k.hashID = key, kid
			} else {
				k.hashID = HashEntryID
			}
		}
	}
	if k.primary == "" {
		return nil, fmt.Errorf("%w: no encryption key (only a %q entry)", ErrKeySpec, HashEntryID)
	}
	hk, err := hkdf.Key(sha256.New, hashSecret, nil, hashInfo, keySize)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving hash key: %v", ErrKeySpec, err)
	}
	k.hashKey = hk
	return k, nil
}

func parseEntry(pos int, entry string) (kid string, key []byte, err error) {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return "", nil, fmt.Errorf("%w: entry %d is empty", ErrKeySpec, pos)
	}
	kid, enc, ok := strings.Cut(entry, ":")
	if !ok {
		return "", nil, fmt.Errorf("%w: entry %d: want kid:base64key", ErrKeySpec, pos)
	}
	// An invalid kid is not echoed: a swapped "key:kid" would print the key.
	if !validKID(kid) {
		return "", nil, fmt.Errorf("%w: entry %d: kid must be 1-%d characters of A-Z a-z 0-9 _ -", ErrKeySpec, pos, maxKIDLen)
	}
	key, ok = decodeKey(strings.TrimSpace(enc))
	if !ok {
		return "", nil, fmt.Errorf("%w: entry %d (kid %q): key is not valid base64", ErrKeySpec, pos, kid)
	}
	if len(key) != keySize {
		return "", nil, fmt.Errorf("%w: entry %d (kid %q): key is %d bytes, want %d", ErrKeySpec, pos, kid, len(key), keySize)
	}
	return kid, key, nil
}

func decodeKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

func validKID(kid string) bool {
	if kid == "" || len(kid) > maxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// GenerateKeySpec returns a spec with one fresh random key whose kid is the
// UTC date plus 4 random hex characters (e.g. "k20261123a1b2"), so kids sort
// by age and two keys made the same day still differ. To rotate, put the new
// entry in front of the old spec.
func GenerateKeySpec() (string, error) {
	var buf [keySize + 2]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("pii: generating key: %w", err)
	}
	kid := "k" + time.Now().UTC().Format("20060102") + hex.EncodeToString(buf[keySize:])
	return kid + ":" + base64.StdEncoding.EncodeToString(buf[:keySize]), nil
}
