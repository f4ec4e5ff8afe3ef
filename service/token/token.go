// Package token keeps WeChat access_tokens for every configured Mini
// Program: one copy shared by all instances through Redis, a copy in process
// memory in front of it, refreshed ahead of expiry by exactly one instance.
package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// App is one Mini Program's credentials.
type App struct {
	AppID  string
	Secret string
}

// Token is an access_token and when WeChat says it stops working.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// Fetcher gets a token from WeChat; WeChatFetcher is the real one.
type Fetcher interface {
	Fetch(ctx context.Context, app App, force bool) (Token, error)
}

// ErrUnknownApp means the app id is not configured.
var ErrUnknownApp = errors.New("token: unknown app id")

// Options tunes refresh timing; zero values take the defaults.
type Options struct {
	Margin        time.Duration // refresh this long before expiry, capped at a fifth of the lifetime (default 3m30s)
	Jitter        time.Duration // plus up to this much per instance, capped at a tenth of the lifetime (default 50s)
	LockTTL       time.Duration // a dead refresher's lock frees itself after this (default 15s)
	WaitPoll      time.Duration // waiters re-read the cache this often (default 50ms)
	WaitMax       time.Duration // and give up after this (default 10s)
	ForceInterval time.Duration // at most one force_refresh per app this often, all instances together (default 30s)
	ForceDaily    int64         // and at most this many a day (default 20, WeChat's own limit)
	RedisBackoff  time.Duration // after a Redis error, skip Redis this long (default 2s)
	Now           func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	// Margin+Jitter plus the 30 s the fetcher already takes off stays under
	// five minutes: stable_token only issues a new token in the last five
	// minutes of the old one's life, so refreshing earlier wastes a call.
	def(&o.Margin, 3*time.Minute+30*time.Second)
	def(&o.Jitter, 50*time.Second)
	def(&o.LockTTL, 15*time.Second)
	def(&o.WaitPoll, 50*time.Millisecond)
	def(&o.WaitMax, 10*time.Second)
	def(&o.ForceInterval, 30*time.Second)
	def(&o.RedisBackoff, 2*time.Second)
	if o.ForceDaily <= 0 {
		o.ForceDaily = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Service hands out access_tokens. Safe for concurrent use.
type Service struct {
	rdb       redis.UniversalClient
	prefix    string
	fetch     Fetcher
	log       *slog.Logger
	m         *metrics
	opts      Options
	apps      map[string]*appState // fixed at construction, read without locks
	redisDown atomic.Int64         // unix nanos until which Redis is skipped
}

type appState struct {
	app        App
	cur        atomic.Pointer[cached]
	bad        atomic.Pointer[string] // a token WeChat rejected; never hand it out again
	sf         singleflight.Group
	jitterFrac float64 // this instance's share of the jitter, fixed so refreshAt is stable
	lastForce  atomic.Int64
}

type cached struct {
	Token
	refreshAt time.Time
}

// Deps is what the service is built from.
type Deps struct {
	Redis    redis.UniversalClient // may be shared with other services
	Prefix   string                // every key is under it
	Apps     []App
	Fetch    Fetcher
	Log      *slog.Logger
	Registry prometheus.Registerer // receives the token metrics
	Options  Options
}

// New builds the service for d.Apps.
func New(d Deps) *Service {
	opts := d.Options
	opts.defaults()
	s := &Service{rdb: d.Redis, prefix: d.Prefix, fetch: d.Fetch, log: d.Log.With("component", "token"), m: newMetrics(d.Registry), opts: opts,
		apps: make(map[string]*appState, len(d.Apps))}
	for _, a := range d.Apps {
		s.apps[a.AppID] = &appState{app: a, jitterFrac: rand.Float64()}
	}
	return s
}

// Token returns a valid access_token for appID. The hot path is an atomic
// load and a clock read: no network, no allocation.
func (s *Service) Token(ctx context.Context, appID string) (string, error) {
	st := s.apps[appID]
	if st == nil {
		return "", ErrUnknownApp
	}
	if c := st.cur.Load(); c != nil && s.opts.Now().Before(c.refreshAt) {
		s.m.memoryHits.Inc()
		return c.Value, nil
	}
	return s.slow(ctx, st)
}

// HasApp reports whether appID is configured.
func (s *Service) HasApp(appID string) bool { return s.apps[appID] != nil }

// Current is Token with its expiry, for the central token endpoint: other
// services cache it until ExpiresAt and so must know it. Other services
// report tokens WeChat rejected to any instance, so before handing one out
// Current checks Redis's record of the rejected token: a token reported
// invalid is never served, even before the announcement arrives.
func (s *Service) Current(ctx context.Context, appID string) (Token, error) {
	v, err := s.Token(ctx, appID)
	if err != nil {
		return Token{}, err
	}
	if st := s.apps[appID]; s.redisUsable() {
		bad, err := s.rdb.HGet(ctx, s.tokenKey(st), "bad").Result()
		if err == nil && bad == v {
			s.drop(st, v)
			if v, err = s.Token(ctx, appID); err != nil {
				return Token{}, err
			}
		}
	}
	if c := s.apps[appID].cur.Load(); c != nil && c.Value == v {
		return c.Token, nil
	}
	// Replaced between the two loads: the value is still valid, but its
	// expiry is unknown here; claim only the shortest window we serve.
	return Token{Value: v, ExpiresAt: s.opts.Now().Add(time.Second)}, nil
}

// slow shares one load among all concurrent callers of this process. The
// shared work runs detached from any one caller's cancellation; each caller
// still stops waiting when its own context ends.
func (s *Service) slow(ctx context.Context, st *appState) (string, error) {
	ch := st.sf.DoChan("load", func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.WaitMax+15*time.Second)
		defer cancel()
		return s.load(lctx, st)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("token: %w", ctx.Err())
	}
}

// remember caches tok in memory with this instance's refresh time. fresh
// says tok just came from WeChat: if it is already inside our margin
// (stable_token hands out the current token until its last minutes), the
// next attempt is put off a little instead of spinning. A token read from
// Redis keeps its refresh time even when due, so the caller refreshes it
// ahead of expiry.
func (s *Service) remember(st *appState, tok Token, lifetime time.Duration, fresh bool) *cached {
	if lifetime <= 0 {
		lifetime = tok.ExpiresAt.Sub(s.opts.Now())
	}
	margin := min(s.opts.Margin, lifetime/5) + time.Duration(st.jitterFrac*float64(min(s.opts.Jitter, lifetime/10)))
	refreshAt := tok.ExpiresAt.Add(-margin)
	if now := s.opts.Now(); fresh && !refreshAt.After(now) {
		refreshAt = now.Add(min(tok.ExpiresAt.Sub(now)/2, 5*time.Second))
	}
	c := &cached{Token: tok, refreshAt: refreshAt}
	st.cur.Store(c)
	return c
}

// Invalidate reports that WeChat rejected token (40001/42001/40014). If it
// is still the cached one it is dropped here and in Redis, and remembered as
// bad so the next refresh does not hand it out again.
func (s *Service) Invalidate(ctx context.Context, appID, token string) {
	st := s.apps[appID]
	if st == nil || token == "" {
		return
	}
	s.drop(st, token)
	s.m.invalidations.Inc()
	if s.redisUsable() {
		err := s.invalidateShared(ctx, st, token)
		if err == nil {
			err = s.announce(ctx, appID, token)
		}
		if err != nil {
			s.redisFailed(err)
		}
	}
	s.log.Warn("access_token rejected by WeChat; dropped", "appid", appID)
}

// Do calls fn with a token and, when WeChat rejects the token, invalidates
// it and retries once with a fresh one.
func (s *Service) Do(ctx context.Context, appID string, fn func(token string) error) error {
	tok, err := s.Token(ctx, appID)
	if err != nil {
		return err
	}
	err = fn(tok)
	if !Rejected(err) {
		return err
	}
	s.Invalidate(ctx, appID, tok)
	if tok, err = s.Token(ctx, appID); err != nil {
		return err
	}
	return fn(tok)
}

// Rejected reports whether err carries a WeChat errcode meaning the
// access_token is invalid, expired or not the latest.
func Rejected(err error) bool {
	var coded interface{ ErrCode() int }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.ErrCode() {
	case 40001, 40014, 42001:
		return true
	}
	return false
}

// Status is what the admin dashboard shows per app.
type Status struct {
	AppID     string
	Cached    bool
	ExpiresAt time.Time
	RefreshAt time.Time
}

// Status reports the in-memory state of every app, without network calls.
func (s *Service) Status() []Status {
	out := make([]Status, 0, len(s.apps))
	for id, st := range s.apps {
		row := Status{AppID: id}
		if c := st.cur.Load(); c != nil {
			row.Cached, row.ExpiresAt, row.RefreshAt = true, c.ExpiresAt, c.refreshAt
		}
		out = append(out, row)
	}
	return out
}
