// Package session issues the opaque bearer tokens the Mini Program sends
// after login. Only a hash of each token is stored, in Redis, with a TTL, so
// a Redis dump cannot be replayed as sessions.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoSession means the token is unknown, expired or revoked.
var ErrNoSession = errors.New("session: no such session")

// Info is what a session token stands for.
type Info struct {
	UserID    int64     `json:"uid"`
	AppID     string    `json:"app"`
	ExpiresAt time.Time `json:"exp"`
}

// Store keeps sessions in Redis under prefix.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewStore returns a store whose sessions live for ttl.
func NewStore(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix + "sess:", ttl: ttl}
}

func (s *Store) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.prefix + hex.EncodeToString(sum[:])
}

// Create issues a new token (256 random bits) for the user.
func (s *Store) Create(ctx context.Context, userID int64, appID string) (string, Info, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Info{}, fmt.Errorf("session: random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	info := Info{UserID: userID, AppID: appID, ExpiresAt: time.Now().Add(s.ttl).UTC().Truncate(time.Second)}
	val, _ := json.Marshal(info)
	if err := s.rdb.Set(ctx, s.key(token), val, s.ttl).Err(); err != nil {
		return "", Info{}, fmt.Errorf("session: store: %w", err)
	}
	return token, info, nil
}

// Lookup returns what token stands for, or ErrNoSession.
func (s *Store) Lookup(ctx context.Context, token string) (Info, error) {
	if token == "" || len(token) > 128 {
		return Info{}, ErrNoSession
	}
	val, err := s.rdb.Get(ctx, s.key(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Info{}, ErrNoSession
	}
	if err != nil {
		return Info{}, fmt.Errorf("session: lookup: %w", err)
	}
	var info Info
	if err := json.Unmarshal(val, &info); err != nil {
		return Info{}, fmt.Errorf("session: corrupt entry: %w", err)
	}
	return info, nil
}

// Revoke ends a session (logout).
func (s *Store) Revoke(ctx context.Context, token string) error {
	if err := s.rdb.Del(ctx, s.key(token)).Err(); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}
