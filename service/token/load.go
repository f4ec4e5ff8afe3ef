package token

import (
	"context"
	"errors"
	"time"
)

// load runs once per process at a time (singleflight) when the memory copy
// is missing or due for refresh.
func (s *Service) load(ctx context.Context, st *appState) (string, error) {
	avoid := ""
	if b := st.bad.Load(); b != nil {
		avoid = *b
	}
	if s.redisUsable() {
		v, err := s.loadShared(ctx, st, avoid)
		var re redisError
		if !errors.As(err, &re) {
			return v, err
		}
		s.redisFailed(err)
	}
	// Degraded: serve the memory copy while it is valid, then fetch with
	// only this process's singleflight as the lock.
	if c := st.cur.Load(); c != nil && c.Value != avoid && s.opts.Now().Before(c.ExpiresAt) {
		s.m.degradedHits.Inc()
		return c.Value, nil
	}
	s.m.redisFallbacks.Inc()
	s.log.Warn("fetching access_token without Redis coordination", "appid", st.app.AppID)
	tok, err := s.fetchUpstream(ctx, st, avoid)
	if err != nil {
		return "", err
	}
	s.adopt(st, tok, 0)
	return tok.Value, nil
}

func (s *Service) loadShared(ctx context.Context, st *appState, avoid string) (string, error) {
	sh, err := s.readShared(ctx, st)
	if err != nil {
		return "", err
	}
	if avoid == "" {
		avoid = sh.bad
	}
	now := s.opts.Now()
	if !sh.found || sh.Value == avoid || !now.Before(sh.ExpiresAt) {
		return s.refresh(ctx, st, avoid, true)
	}
	s.m.redisHits.Inc()
	c := s.remember(st, sh.Token, sh.lifetime, false)
	if now.Before(c.refreshAt) {
		return sh.Value, nil
	}
	// Due for refresh but still valid: refresh if no other instance is
	// doing it, and keep serving the current token either way.
	v, err := s.refresh(ctx, st, avoid, false)
	if v != "" {
		return v, nil
	}
	if err != nil {
		s.log.Warn("refresh ahead of expiry failed; the current token stays in use", "appid", st.app.AppID, "err", err)
	}
	// Look again shortly rather than on every call.
	s.hold(st, c, min(time.Second, max(sh.lifetime/20, s.opts.WaitPoll)))
	return sh.Value, err
}

// hold postpones the next slow-path visit by d, never past expiry.
func (s *Service) hold(st *appState, c *cached, d time.Duration) {
	next := s.opts.Now().Add(d)
	if next.After(c.ExpiresAt) {
		next = c.ExpiresAt
	}
	st.cur.CompareAndSwap(c, &cached{Token: c.Token, refreshAt: next})
}

// refresh takes the app's Redis lock and fetches a new token. When another
// instance holds the lock, it returns "" at once (wait false) or polls the
// cache for that instance's result (wait true) instead of calling WeChat.
func (s *Service) refresh(ctx context.Context, st *appState, avoid string, wait bool) (string, error) {
	deadline := time.Now().Add(s.opts.WaitMax)
	counted := false
	for {
		fence := newFence()
		ok, err := s.rdb.SetNX(ctx, s.lockKey(st), fence, s.opts.LockTTL).Result()
		if err != nil {
			return "", redisError{err}
		}
		if ok {
			return s.refreshHolding(ctx, st, avoid, fence)
		}
		if !wait {
			return "", nil
		}
		if !counted {
			s.m.lockWaits.Inc()
			counted = true
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(s.opts.WaitPoll):
		}
		sh, err := s.readShared(ctx, st)
		if err != nil {
			return "", err
		}
		if sh.found && sh.Value != avoid && s.opts.Now().Before(sh.ExpiresAt) {
			s.remember(st, sh.Token, sh.lifetime, false)
			return sh.Value, nil
		}
		if time.Now().After(deadline) {
			return "", ErrWaitTimeout
		}
	}
}

func (s *Service) refreshHolding(ctx context.Context, st *appState, avoid, fence string) (string, error) {
	defer s.release(st, fence)
	// Another instance may have published between our read and our lock.
	if sh, err := s.readShared(ctx, st); err == nil && sh.found && sh.Value != avoid {
		if c := s.remember(st, sh.Token, sh.lifetime, false); s.opts.Now().Before(c.refreshAt) {
			return sh.Value, nil
		}
	}
	tok, err := s.fetchUpstream(ctx, st, avoid)
	if err != nil {
		return "", err
	}
	lifetime := tok.ExpiresAt.Sub(s.opts.Now())
	written, err := s.writeShared(ctx, st, tok, lifetime, fence)
	if err != nil {
		s.redisFailed(err)
	} else if !written {
		s.log.Warn("refresh lock expired before the token was stored; raise the lock TTL", "appid", st.app.AppID)
	}
	s.adopt(st, tok, lifetime)
	return tok.Value, nil
}

// adopt caches a token just fetched from WeChat and forgets the bad one.
func (s *Service) adopt(st *appState, tok Token, lifetime time.Duration) {
	s.remember(st, tok, lifetime, true)
	if b := st.bad.Load(); b != nil && *b != tok.Value {
		st.bad.CompareAndSwap(b, nil)
	}
}

// fetchUpstream is the only place that calls WeChat for a token.
func (s *Service) fetchUpstream(ctx context.Context, st *appState, avoid string) (Token, error) {
	tok, err := s.fetch.Fetch(ctx, st.app, false)
	if err != nil {
		s.m.refreshes.WithLabelValues("error").Inc()
		return Token{}, err
	}
	s.m.refreshes.WithLabelValues("ok").Inc()
	if avoid == "" || tok.Value != avoid {
		return tok, nil
	}
	// stable_token in normal mode handed back the token WeChat just
	// rejected: only a force refresh gets a new one, and those are scarce.
	if !s.allowForce(ctx, st) {
		s.log.Warn("WeChat returned the rejected token again and force_refresh is rate-limited; using it", "appid", st.app.AppID)
		return tok, nil
	}
	s.m.forced.Inc()
	forced, err := s.fetch.Fetch(ctx, st.app, true)
	if err != nil {
		s.m.refreshes.WithLabelValues("error").Inc()
		return tok, nil
	}
	s.m.refreshes.WithLabelValues("ok").Inc()
	return forced, nil
}
