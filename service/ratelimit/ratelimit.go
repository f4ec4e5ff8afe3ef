// Package ratelimit spaces calls to a vendor across every instance: the
// vendors' limits are per API key, not per process, so the count lives in
// Redis (GCRA through go-redis/redis_rate, maintained by the go-redis
// authors, one Lua script per call, a single key so it runs on a Redis
// Cluster too).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// ErrBusy says the limit would have kept the call waiting longer than
// allowed: the caller moves on (the OCR chain to its next vendor).
var ErrBusy = errors.New("ratelimit: over the vendor's limit")

// Shared is one vendor's limit, shared by every instance.
type Shared struct {
	unlimited atomic.Int64
	lim       *redis_rate.Limiter
	key       string
	limit     redis_rate.Limit
	maxWait   time.Duration
}

// Unlimited counts the calls let through while Redis could not be asked.
func (s *Shared) Unlimited() int64 { return s.unlimited.Load() }

// New limits the calls counted under key to qps per second, spaced evenly
// (burst 1: no one-second window of the vendor's sees more than qps), and
// lets a call wait at most maxWait for its turn.
func New(rdb redis.UniversalClient, key string, qps int, maxWait time.Duration) *Shared {
	return &Shared{lim: redis_rate.NewLimiter(rdb), key: key,
		limit: redis_rate.Limit{Rate: qps, Period: time.Second, Burst: 1}, maxWait: maxWait}
}

// Wait blocks until the call may go. It returns ErrBusy when the turn is
// further away than maxWait and the context's error when ctx ends first.
// With Redis unavailable it lets the call go (counted in Unlimited): the
// vendor's own limit still stands behind it, and failing every upload over
// a Redis outage would be worse than an occasional refusal.
func (s *Shared) Wait(ctx context.Context) error {
	deadline := time.Now().Add(s.maxWait)
	for {
		res, err := s.lim.Allow(ctx, s.key, s.limit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.unlimited.Add(1)
			return nil
		}
		if res.Allowed > 0 {
			return nil
		}
		if time.Now().Add(res.RetryAfter).After(deadline) {
			return fmt.Errorf("%w (next turn in %s)", ErrBusy, res.RetryAfter.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(res.RetryAfter):
		}
	}
}
