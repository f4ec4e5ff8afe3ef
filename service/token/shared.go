package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The token of an app lives in one Redis hash (v, exp, ttl, bad) next to its
// refresh lock. The braces are a Cluster hash tag: both keys share a slot so
// the Lua scripts may touch them together.
func (s *Service) tokenKey(st *appState) string { return s.prefix + "wxtoken:{" + st.app.AppID + "}" }
func (s *Service) lockKey(st *appState) string  { return s.tokenKey(st) + ":lock" }

// writeScript stores a token only while the writer still holds the lock
// (the fence), so a refresher whose lock expired mid-call cannot overwrite
// a newer token written by the next holder.
var writeScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'exp', ARGV[3], 'ttl', ARGV[4])
redis.call('HDEL', KEYS[1], 'bad')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`)

// releaseScript deletes the lock only for its holder (compare-and-delete).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// invalidateScript drops the token only if it is still the rejected one, and
// marks it bad so no instance accepts it from WeChat again.
var invalidateScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then redis.call('HDEL', KEYS[1], 'v', 'exp', 'ttl') end
redis.call('HSET', KEYS[1], 'bad', ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`)

// redisError marks failures of Redis itself, which switch the service to
// its degraded mode, as opposed to WeChat failures.
type redisError struct{ err error }

func (e redisError) Error() string { return "token: redis: " + e.err.Error() }
func (e redisError) Unwrap() error { return e.err }

type shared struct {
	Token
	found    bool
	lifetime time.Duration
	bad      string
}

func (s *Service) readShared(ctx context.Context, st *appState) (shared, error) {
	vals, err := s.rdb.HMGet(ctx, s.tokenKey(st), "v", "exp", "ttl", "bad").Result()
	if err != nil {
		return shared{}, redisError{err}
	}
	str := func(i int) string { v, _ := vals[i].(string); return v }
	out := shared{bad: str(3)}
	exp, err1 := strconv.ParseInt(str(1), 10, 64)
	ttl, err2 := strconv.ParseInt(str(2), 10, 64)
	if str(0) != "" && err1 == nil && err2 == nil {
		out.found = true
		out.Value = str(0)
		out.ExpiresAt = time.UnixMilli(exp)
		out.lifetime = time.Duration(ttl) * time.Millisecond
	}
	return out, nil
}

func (s *Service) writeShared(ctx context.Context, st *appState, tok Token, lifetime time.Duration, fence string) (bool, error) {
	px := tok.ExpiresAt.Sub(s.opts.Now()).Milliseconds()
	if px <= 0 {
		return false, nil
	}
	n, err := writeScript.Run(ctx, s.rdb, []string{s.tokenKey(st), s.lockKey(st)},
		fence, tok.Value, tok.ExpiresAt.UnixMilli(), lifetime.Milliseconds(), px).Int()
	if err != nil {
		return false, redisError{err}
	}
	return n == 1, nil
}

func (s *Service) invalidateShared(ctx context.Context, st *appState, token string) error {
	// The bad marker outlives any token's refresh so late reporters agree.
	if err := invalidateScript.Run(ctx, s.rdb, []string{s.tokenKey(st)}, token, (10 * time.Minute).Milliseconds()).Err(); err != nil {
		return redisError{err}
	}
	return nil
}

func (s *Service) release(st *appState, fence string) {
	// A cancelled caller must not leave the lock behind: use a fresh context.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, s.rdb, []string{s.lockKey(st)}, fence).Err(); err != nil {
		s.log.Warn("release token lock", "err", err) // it expires after LockTTL anyway
	}
}

// redisUsable is false for a short while after a Redis error, so a dead
// Redis costs one timeout per backoff period, not one per call.
func (s *Service) redisUsable() bool { return time.Now().UnixNano() >= s.redisDown.Load() }

func (s *Service) redisFailed(err error) {
	if s.redisDown.Swap(time.Now().Add(s.opts.RedisBackoff).UnixNano()) < time.Now().UnixNano() {
		s.log.Error("Redis unavailable for the token cache; serving from memory", "err", err)
	}
	s.m.redisErrors.Inc()
}

// allowForce spends one force_refresh from WeChat's small allowance (about
// 20 a day, 30 s apart), counted across instances when Redis is up.
func (s *Service) allowForce(ctx context.Context, st *appState) bool {
	now := s.opts.Now()
	if !s.redisUsable() {
		last := st.lastForce.Load()
		if now.UnixNano()-last < int64(s.opts.ForceInterval) {
			return false
		}
		return st.lastForce.CompareAndSwap(last, now.UnixNano())
	}
	base := s.tokenKey(st) + ":force"
	ok, err := s.rdb.SetNX(ctx, base, 1, s.opts.ForceInterval).Result()
	if err != nil || !ok {
		return false
	}
	day := base + ":" + now.UTC().Format("20060102")
	n, err := s.rdb.Incr(ctx, day).Result()
	if err != nil {
		return false
	}
	s.rdb.Expire(ctx, day, 48*time.Hour)
	return n <= s.opts.ForceDaily
}

func newFence() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrWaitTimeout means another instance held the refresh lock for longer
// than WaitMax without publishing a token.
var ErrWaitTimeout = errors.New("token: timed out waiting for another instance's refresh")
