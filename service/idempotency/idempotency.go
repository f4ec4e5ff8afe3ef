// Package idempotency remembers the answer to a request sent with an
// Idempotency-Key, so a Mini Program retrying over a flaky mobile network
// gets the first answer again and no vendor is paid twice.
package idempotency

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors of Begin.
var (
	// ErrInProgress means the first request with this key is still running.
	ErrInProgress = errors.New("idempotency: a request with this key is in progress")
	// ErrKeyReused means the key was used before for a different request.
	ErrKeyReused = errors.New("idempotency: key reused for a different request")
	// ErrErased means the key's answer was forgotten with the user's data.
	ErrErased = errors.New("idempotency: the answer of this key was erased with the user's data")
)

// Response is a stored answer. It is sealed before it reaches Redis: an
// upload's answer shows its owner what was read from their card, in full.
type Response struct {
	Status int             `json:"s"`
	Body   json.RawMessage `json:"b"`
}

type entry struct {
	Fingerprint string `json:"f"`
	Done        bool   `json:"d"`
	Erased      bool   `json:"e,omitempty"`
	Sealed      []byte `json:"x,omitempty"` // the Response, sealed to the entry's key
}

// Sealer encrypts stored answers (the pii.KeyRing).
type Sealer interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
}

// MAC is a keyed hash (the key ring's Hash under a purpose of its own).
type MAC func(data []byte) []byte

// Store keeps keys in Redis under prefix.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	lockTTL time.Duration
	mac     MAC
	seal    Sealer
}

// NewStore returns a store that remembers answers for ttl; a request that
// dies mid-way frees its key after lockTTL. mac keys the fingerprints, so
// a request body (a name and an ID number) cannot be recomputed from
// what Redis holds; seal encrypts the stored answers.
func NewStore(rdb redis.UniversalClient, prefix string, ttl, lockTTL time.Duration, mac MAC, seal Sealer) *Store {
	return &Store{rdb: rdb, prefix: prefix + "idem:", ttl: ttl, lockTTL: lockTTL, mac: mac, seal: seal}
}

// scopePrefix is where a scope's keys live: one hash tag, so a Redis
// Cluster keeps them on one node and Erase finds them with one scan.
func (s *Store) scopePrefix(scope string) string {
	return s.prefix + "{" + hex.EncodeToString(s.mac([]byte("scope\x00" + scope))[:12]) + "}:"
}

func (s *Store) key(scope, key string) string {
	return s.scopePrefix(scope) + hex.EncodeToString(s.mac([]byte(scope+"\x00"+key)))
}

// Fingerprint summarises a request (its canonical parts) so a reused key
// with another request is caught; keyed, so it reveals nothing of them.
func (s *Store) Fingerprint(parts ...[]byte) string {
	var buf []byte
	for _, p := range parts {
		buf = fmt.Appendf(buf, "%d:", len(p))
		buf = append(buf, p...)
	}
	return hex.EncodeToString(s.mac(buf))
}

// Erase forgets every answer of scope (the user erased their data): each
// becomes a marker, kept as long as the answer would have been, so a
// retry with one of those keys gets ErrErased instead of running again or
// replaying what was erased.
func (s *Store) Erase(ctx context.Context, scope string) error {
	marker, _ := json.Marshal(entry{Done: true, Erased: true})
	sweep := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, s.scopePrefix(scope)+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := c.Set(ctx, iter.Val(), marker, s.ttl).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return sweep(ctx, c) })
	} else {
		err = sweep(ctx, s.rdb)
	}
	if err != nil {
		return fmt.Errorf("idempotency: erase: %w", err)
	}
	return nil
}

// Begin claims key within scope (e.g. the user). It returns the stored
// response when the request was answered before, nil when the caller now
// owns the key and must call Finish or Abandon.
func (s *Store) Begin(ctx context.Context, scope, key, fingerprint string) (*Response, error) {
	k := s.key(scope, key)
	claim, _ := json.Marshal(entry{Fingerprint: fingerprint})
	ok, err := s.rdb.SetNX(ctx, k, claim, s.lockTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	if ok {
		return nil, nil
	}
	raw, err := s.rdb.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) { // expired between the two calls: try once more
		return s.Begin(ctx, scope, key, fingerprint)
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("idempotency: corrupt entry: %w", err)
	}
	switch {
	case e.Erased:
		return nil, ErrErased
	case e.Fingerprint != fingerprint:
		return nil, ErrKeyReused
	case !e.Done:
		return nil, ErrInProgress
	case len(e.Sealed) == 0:
		// Stored before answers were sealed: not replayed (it may hold a
		// reading in clear, which is why they are sealed now), and not run
		// again either; the client is told to use a new key.
		return nil, ErrErased
	}
	plain, err := s.seal.Decrypt(e.Sealed, []byte(k))
	if err != nil {
		return nil, fmt.Errorf("idempotency: open the stored answer: %w", err)
	}
	var r Response
	if err := json.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("idempotency: corrupt answer: %w", err)
	}
	return &r, nil
}

// Finish stores the answer for replays.
func (s *Store) Finish(ctx context.Context, scope, key, fingerprint string, r Response) error {
	k := s.key(scope, key)
	plain, _ := json.Marshal(r)
	sealed, err := s.seal.Encrypt(plain, []byte(k))
	if err != nil {
		return fmt.Errorf("idempotency: seal the answer: %w", err)
	}
	b, _ := json.Marshal(entry{Fingerprint: fingerprint, Done: true, Sealed: sealed})
	if err := s.rdb.Set(ctx, k, b, s.ttl).Err(); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

// Abandon frees the key after a failure worth retrying (a 5xx), so the
// retry runs instead of replaying the failure.
func (s *Store) Abandon(ctx context.Context, scope, key string) error {
	if err := s.rdb.Del(ctx, s.key(scope, key)).Err(); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}
