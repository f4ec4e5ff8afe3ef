package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"realname/sandbox"
	"realname/service/token"
)

// The one Mini Program every scenario asks tokens for.
const (
	benchAppID  = "wxbench000000000001"
	benchSecret = "bench-secret"
)

// fakeWeChat is a WeChat fake on its own listener. Each scenario gets a
// fresh one, so its issue and call counters are that scenario's alone.
type fakeWeChat struct {
	srv *sandbox.Server
	wx  *sandbox.WeChat
}

// startFake serves a fake whose tokens live ttl. The grace period and the
// stable_token renew window are half of it, the same proportions as the
// token package's own tests.
func startFake(ttl time.Duration) (*fakeWeChat, error) {
	srv := sandbox.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	wx := sandbox.NewWeChat(nil, sandbox.WeChatOptions{
		Apps:     map[string]string{benchAppID: benchSecret},
		TokenTTL: ttl, Grace: ttl / 2, RenewWindow: ttl / 2,
	})
	wx.Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return &fakeWeChat{srv: srv, wx: wx}, nil
}

func (f *fakeWeChat) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Close(ctx)
}

// upstream reports the HTTP requests made to the token endpoint of mode
// and the tokens the fake issued for them. They differ when a client asks
// for a token WeChat still considers current (stable_token hands the same
// one back), which costs a request but opens no new window.
func (f *fakeWeChat) upstream(mode string) (requests, issued int) {
	classic, stable, _ := f.wx.Issued(benchAppID)
	if mode == token.ModeClassic {
		return f.srv.Calls()["wechat GET /cgi-bin/token"], classic
	}
	return f.srv.Calls()["wechat POST /cgi-bin/stable_token"], stable
}

// callTimeout bounds one get, as a request handler's deadline would.
const callTimeout = 10 * time.Second

// slowGet is how long a get may take before it counts as slow: a cached get takes well
// under a microsecond, a request to the fake a fraction of a millisecond.
const slowGet = time.Millisecond

// getter is one instance's way to get the app's token.
type getter func(ctx context.Context) (string, error)

// tally is what the callers of one scenario saw.
type tally struct {
	gets     int64
	errors   int64 // the getter returned an error
	failures int64 // a token WeChat deemed invalid at the moment it was handed out
	slow     int64 // gets that took longer than slowGet
	maxGet   time.Duration
	tokens   map[string]struct{}
	firstErr error
}

func (t *tally) add(o *tally) {
	t.gets += o.gets
	t.errors += o.errors
	t.failures += o.failures
	t.slow += o.slow
	t.maxGet = max(t.maxGet, o.maxGet)
	for v := range o.tokens {
		t.tokens[v] = struct{}{}
	}
	if t.firstErr == nil {
		t.firstErr = o.firstErr
	}
}

// hammer runs callers goroutines per instance, each getting a token, then
// pausing, until d has passed or ctx ends. Every token is judged by the
// fake as of the moment the getter returned it, so a goroutine starved
// before the check does not turn a good token into a failure.
func hammer(ctx context.Context, wx *sandbox.WeChat, instances []getter, callers int, d, pause time.Duration) *tally {
	stop := time.Now().Add(d)
	var (
		mu    sync.Mutex
		total = &tally{tokens: map[string]struct{}{}}
		wg    sync.WaitGroup
	)
	for _, get := range instances {
		for range callers {
			wg.Go(func() {
				// Counted locally and merged once: a shared map or counter
				// would make the callers contend with each other instead
				// of with the service under test.
				own := &tally{tokens: map[string]struct{}{}}
				for ctx.Err() == nil && time.Now().Before(stop) {
					cctx, cancel := context.WithTimeout(ctx, callTimeout)
					start := time.Now()
					tok, err := get(cctx)
					at := time.Now()
					cancel()
					own.gets++
					if took := at.Sub(start); took > slowGet {
						own.slow++
						own.maxGet = max(own.maxGet, took)
					}
					switch {
					case err != nil:
						own.errors++
						own.firstErr = firstOf(own.firstErr, err)
					default:
						own.tokens[tok] = struct{}{}
						if werr := wx.ValidTokenAt(benchAppID, tok, at); werr != nil {
							own.failures++
							own.firstErr = firstOf(own.firstErr, fmt.Errorf("token handed out but invalid: %w", werr))
						}
					}
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
				mu.Lock()
				total.add(own)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return total
}

// firstOf keeps the first error seen.
func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
