// Package idempotency remembers the answer to a request sent with an
// Idempotency-Key, so a Mini Program retrying over a flaky mobile network
// gets the first answer again and no vendor is paid twice.
package idempotency

import (
	"context"
	"crypto/sha256"
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
)

// Response is a stored answer. Bodies hold only what the API returned,
// which is masked: no raw personal data lands in Redis.
type Response struct {
	Status int             `json:"s"`
	Body   json.RawMessage `json:"b"`
}

type entry struct {
	Fingerprint string    `json:"f"`
	Done        bool      `json:"d"`
	Response    *Response `json:"r,omitempty"`
}

// Store keeps keys in Redis under prefix.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	lockTTL time.Duration
}

// NewStore returns a store that remembers answers for ttl; a request that
// dies mid-way frees its key after lockTTL.
func NewStore(rdb redis.UniversalClient, prefix string, ttl, lockTTL time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix + "idem:", ttl: ttl, lockTTL: lockTTL}
}

func (s *Store) key(scope, key string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + key))
	return s.prefix + hex.EncodeToString(sum[:])
}

// Fingerprint summarises a request so a reused key with another body is
// caught.
func Fingerprint(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
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
	case e.Fingerprint != fingerprint:
		return nil, ErrKeyReused
	case !e.Done:
		return nil, ErrInProgress
	}
	return e.Response, nil
}

// Finish stores the answer for replays.
func (s *Store) Finish(ctx context.Context, scope, key, fingerprint string, r Response) error {
	b, _ := json.Marshal(entry{Fingerprint: fingerprint, Done: true, Response: &r})
	if err := s.rdb.Set(ctx, s.key(scope, key), b, s.ttl).Err(); err != nil {
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
