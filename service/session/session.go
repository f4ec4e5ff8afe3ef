// Package session issues the opaque bearer tokens the Mini Program sends
// after login. Only a hash of each token is stored, in Redis, with a TTL, so
// a Redis dump cannot be replayed as sessions. Each user's sessions are
// indexed (a sorted set of their hashes by creation time) so they are
// capped, the oldest ending first, and can all be ended at once.
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
	"strconv"
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
	max    int
}

// NewStore returns a store whose sessions live for ttl, at most max per
// user (a new login past it ends that user's oldest session); max <= 0
// means 5.
func NewStore(rdb redis.UniversalClient, prefix string, ttl time.Duration, max int) *Store {
	if max <= 0 {
		max = 5
	}
	return &Store{rdb: rdb, prefix: prefix + "sess:", ttl: ttl, max: max}
}

// hash is a token's stored name: its SHA-256.
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *Store) key(token string) string { return s.prefix + hash(token) }

// userKey is the index of a user's sessions. It never equals a session's
// key: those end in 64 hex digits.
func (s *Store) userKey(userID int64) string {
	return s.prefix + "user:" + strconv.FormatInt(userID, 10)
}

// Create issues a new token (256 random bits) for the user, and ends the
// user's oldest sessions past the cap. The index is kept with separate
// commands (a session and its user's index live in different Cluster
// slots): two logins at once may leave one session over the cap until
// the next login trims it.
func (s *Store) Create(ctx context.Context, userID int64, appID string) (string, Info, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Info{}, fmt.Errorf("session: random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	info := Info{UserID: userID, AppID: appID, ExpiresAt: now.Add(s.ttl).UTC().Truncate(time.Second)}
	val, _ := json.Marshal(info)
	if err := s.rdb.Set(ctx, s.key(token), val, s.ttl).Err(); err != nil {
		return "", Info{}, fmt.Errorf("session: store: %w", err)
	}
	uk := s.userKey(userID)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, uk, redis.Z{Score: float64(now.UnixMilli()), Member: hash(token)})
		p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(now.Add(-s.ttl).UnixMilli(), 10))
		p.Expire(ctx, uk, s.ttl)
		return nil
	})
	if err != nil {
		return "", Info{}, fmt.Errorf("session: index: %w", err)
	}
	if err := s.trim(ctx, uk); err != nil {
		return "", Info{}, err
	}
	return token, info, nil
}

// trim ends the oldest sessions of the index at uk past the cap.
func (s *Store) trim(ctx context.Context, uk string) error {
	n, err := s.rdb.ZCard(ctx, uk).Result()
	if err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	if n <= int64(s.max) {
		return nil
	}
	old, err := s.rdb.ZRange(ctx, uk, 0, n-int64(s.max)-1).Result()
	if err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	return s.end(ctx, uk, old)
}

// end deletes the sessions named by hashes and takes them off the index.
func (s *Store) end(ctx context.Context, uk string, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	members := make([]any, len(hashes))
	for i, h := range hashes {
		// One key per command: in a Cluster they hash to different slots.
		if err := s.rdb.Del(ctx, s.prefix+h).Err(); err != nil {
			return fmt.Errorf("session: end: %w", err)
		}
		members[i] = h
	}
	if err := s.rdb.ZRem(ctx, uk, members...).Err(); err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	return nil
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
	info, err := s.Lookup(ctx, token)
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.end(ctx, s.userKey(info.UserID), []string{hash(token)})
}

// RevokeAll ends every session of the user (logout everywhere). Sessions
// made before the index existed are not in it; they end with their TTL.
func (s *Store) RevokeAll(ctx context.Context, userID int64) (int, error) {
	uk := s.userKey(userID)
	all, err := s.rdb.ZRange(ctx, uk, 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("session: index: %w", err)
	}
	if err := s.end(ctx, uk, all); err != nil {
		return 0, err
	}
	return len(all), nil
}
