package token_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"realname/sandbox"
	"realname/service/redisconn/redistest"
	"realname/service/token"
)

const appID, secret = "wxtest0000000000001", "test-secret"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fake struct {
	srv *sandbox.Server
	wx  *sandbox.WeChat
}

func newFake(t testing.TB, ttl time.Duration) *fake {
	t.Helper()
	srv := sandbox.New(quiet)
	wx := sandbox.NewWeChat(nil, sandbox.WeChatOptions{
		Apps: map[string]string{appID: secret}, TokenTTL: ttl, Grace: ttl / 2, RenewWindow: ttl / 2,
	})
	wx.Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &fake{srv: srv, wx: wx}
}

func (f *fake) issued() (classic, stable, forced int) { return f.wx.Issued(appID) }

func newService(f *fake, rdb redis.UniversalClient, prefix, mode string, reg *prometheus.Registry) *token.Service {
	fetch := token.NewWeChatFetcher(f.srv.URL(), mode)
	return token.New(token.Deps{Redis: rdb, Prefix: prefix, Apps: []token.App{{AppID: appID, Secret: secret}}, Fetch: fetch,
		Log: quiet, Registry: reg, Options: token.Options{WaitPoll: 10 * time.Millisecond}})
}

// hammer runs callers goroutines per service, each asking for a token in a
// loop for d, and checks every token handed out is valid at WeChat.
func hammer(t *testing.T, f *fake, services []*token.Service, callers int, d time.Duration, use func(*token.Service, string) error) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	var failures atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, s := range services {
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					tok, err := s.Token(context.Background(), appID)
					at := time.Now()
					if err == nil && use != nil {
						err = use(s, tok)
					} else if err == nil {
						err = f.wx.ValidTokenAt(appID, tok, at)
					}
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
					} else {
						mu.Lock()
						seen[tok] = true
						mu.Unlock()
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d calls failed, first: %v", n, firstErr.Load())
	}
	return seen
}

func TestOneUpstreamCallPerWindowAcrossInstances(t *testing.T) {
	for _, mode := range []string{token.ModeStable, token.ModeClassic} {
		t.Run(mode, func(t *testing.T) {
			const ttl = 4 * time.Second
			f := newFake(t, ttl)
			conn := redistest.Open(t)
			var services []*token.Service
			for range 3 {
				services = append(services, newService(f, conn.Client, conn.Prefix, mode, prometheus.NewRegistry()))
			}
			const run = 9 * time.Second
			const callers = 1000
			seen := hammer(t, f, services, callers, run, nil)
			classic, stable, _ := f.issued()
			calls := stable
			if mode == token.ModeClassic {
				calls = classic
			}
			// Every upstream call produced the token of one window, and
			// every window's token was used: one call per window.
			if calls != len(seen) {
				t.Fatalf("%d upstream calls for %d distinct tokens", calls, len(seen))
			}
			// A window lasts at least ttl minus the refresh margin (a fifth
			// plus up to a tenth of the lifetime).
			maxWindows := int(run/(ttl*7/10)) + 1
			if calls < 2 || calls > maxWindows {
				t.Fatalf("%d upstream calls in %v with ttl %v; want 2..%d", calls, run, ttl, maxWindows)
			}
			t.Logf("%s: instances=3 callers=%d windows=%d upstream_calls=%d", mode, 3*callers, len(seen), calls)
		})
	}
}

func TestRejectedTokenIsRefreshedOnce(t *testing.T) {
	f := newFake(t, time.Hour)
	conn := redistest.Open(t)
	var services []*token.Service
	for range 3 {
		services = append(services, newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry()))
	}
	if _, err := services[0].Token(context.Background(), appID); err != nil {
		t.Fatal(err)
	}
	_, before, _ := f.issued()
	// Another system refreshed the token behind our back: WeChat now
	// answers 40001 to the one every instance holds.
	f.wx.InvalidateTokens(appID)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, s := range services {
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Do(context.Background(), appID, func(tok string) error { return f.wx.ValidToken(appID, tok) })
				if err != nil {
					failed.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	_, after, forced := f.issued()
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed after the retry", failed.Load())
	}
	if after-before != 1 || forced != 0 {
		t.Fatalf("upstream calls after the 40001: %d (forced %d), want exactly 1", after-before, forced)
	}
}

func TestForceRefreshWhenStableReturnsTheRejectedToken(t *testing.T) {
	f := newFake(t, time.Hour)
	conn := redistest.Open(t)
	s := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
	ctx := context.Background()
	first, err := s.Token(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	// WeChat says "invalid" about a token its stable endpoint still hands
	// out: only force_refresh can get another.
	s.Invalidate(ctx, appID, first)
	second, err := s.Token(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("got the rejected token back")
	}
	if _, _, forced := f.issued(); forced != 1 {
		t.Fatalf("force refreshes = %d, want 1", forced)
	}
	// A second rejection within the force interval must not force again.
	s.Invalidate(ctx, appID, second)
	if _, err := s.Token(ctx, appID); err != nil {
		t.Fatal(err)
	}
	if _, _, forced := f.issued(); forced != 1 {
		t.Fatalf("force refreshes = %d after a rate-limited rejection, want 1", forced)
	}
}

func TestRedisDownServesMemoryThenFetchesDirectly(t *testing.T) {
	f := newFake(t, 4*time.Second)
	mini := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mini.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	s := newService(f, rdb, "t:", token.ModeStable, reg)
	ctx := context.Background()
	tok, err := s.Token(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	mini.Close()
	// While the memory copy is valid, it is served.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		got, err := s.Token(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		if got != tok {
			break
		}
		if f.wx.ValidToken(appID, got) != nil {
			t.Fatal("served an invalid token")
		}
		if _, stable, _ := f.issued(); stable > 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// After expiry it must fetch directly and keep working.
	time.Sleep(4 * time.Second)
	got, err := s.Token(ctx, appID)
	if err != nil {
		t.Fatalf("no token with Redis down: %v", err)
	}
	if err := f.wx.ValidToken(appID, got); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(counter(t, reg, "realname_wechat_token_redis_fallbacks_total")); v < 1 {
		t.Fatalf("redis fallbacks = %v", v)
	}
	// Redis comes back: the service uses it again.
	if err := mini.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := s.Token(ctx, appID); err != nil {
		t.Fatal(err)
	}
	f.wx.InvalidateTokens(appID)
	got2, _ := s.Token(ctx, appID)
	s.Invalidate(ctx, appID, got2)
	if _, err := s.Token(ctx, appID); err != nil {
		t.Fatal(err)
	}
	if len(mini.Keys()) == 0 {
		t.Fatal("the token was not shared through Redis after it came back")
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "copy"})
			c.Add(mf.GetMetric()[0].GetCounter().GetValue())
			return c
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

func TestFetcherErrorsHideTheSecret(t *testing.T) {
	f := newFake(t, time.Hour)
	for _, mode := range []string{token.ModeStable, token.ModeClassic} {
		_, err := token.NewWeChatFetcher(f.srv.URL(), mode).Fetch(context.Background(), token.App{AppID: appID, Secret: "wrong-secret-value"}, false)
		var apiErr *token.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 40125 {
			t.Fatalf("%s: err = %v, want errcode 40125", mode, err)
		}
		_, err = token.NewWeChatFetcher("http://127.0.0.1:1", mode).Fetch(context.Background(), token.App{AppID: appID, Secret: "wrong-secret-value"}, false)
		if err == nil || strings.Contains(err.Error(), "wrong-secret-value") {
			t.Fatalf("%s: transport error %v", mode, err)
		}
	}
}

func TestCachedTokenDoesNotAllocate(t *testing.T) {
	f := newFake(t, time.Hour)
	conn := redistest.Open(t)
	s := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
	ctx := context.Background()
	if _, err := s.Token(ctx, appID); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = s.Token(ctx, appID) }); n != 0 {
		t.Fatalf("cached Token allocates %v times", n)
	}
}

func BenchmarkCachedToken(b *testing.B) {
	f := newFake(b, time.Hour)
	conn := redistest.Open(b)
	s := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
	ctx := context.Background()
	if _, err := s.Token(ctx, appID); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Token(ctx, appID)
		}
	})
}

// TestInvalidationReachesEveryInstance: a token reported invalid on one
// instance is served by none of them a second later, and the central
// endpoint's Current never hands it out again.
func TestInvalidationReachesEveryInstance(t *testing.T) {
	f := newFake(t, time.Hour)
	conn := redistest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var services []*token.Service
	var wg sync.WaitGroup
	for range 3 {
		s := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
		services = append(services, s)
		wg.Go(func() { s.Run(ctx) })
	}
	defer wg.Wait()
	defer cancel()
	old, err := services[0].Token(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services[1:] {
		if tok, err := s.Token(ctx, appID); err != nil || tok != old {
			t.Fatalf("shared token: %q %v", tok, err)
		}
	}
	for i := 0; ; i++ { // the three subscriptions are up
		n, err := conn.Client.PubSubNumSub(ctx, conn.Prefix+"wxtoken:invalidated").Result()
		if err == nil && n[conn.Prefix+"wxtoken:invalidated"] == 3 {
			break
		}
		if i > 500 {
			t.Fatalf("subscriptions: %v %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.wx.InvalidateTokens(appID)
	services[0].Invalidate(ctx, appID, old)
	deadline := time.Now().Add(time.Second)
	for i, s := range services {
		for {
			tok, err := s.Token(ctx, appID)
			if err == nil && tok != old {
				if err := f.wx.ValidToken(appID, tok); err != nil {
					t.Fatalf("instance %d serves %v", i, err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still serves the invalidated token after 1 s", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if cur, err := s.Current(ctx, appID); err != nil || cur.Value == old {
			t.Fatalf("instance %d Current: %q %v", i, cur.Value, err)
		}
	}
}

// TestCurrentNeverServesAReportedToken: the central endpoint checks
// Redis's record even before the announcement arrives (no Run here).
func TestCurrentNeverServesAReportedToken(t *testing.T) {
	f := newFake(t, time.Hour)
	conn := redistest.Open(t)
	ctx := context.Background()
	a := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
	b := newService(f, conn.Client, conn.Prefix, token.ModeStable, prometheus.NewRegistry())
	old, err := b.Token(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	f.wx.InvalidateTokens(appID)
	a.Invalidate(ctx, appID, old)
	cur, err := b.Current(ctx, appID)
	if err != nil || cur.Value == old || f.wx.ValidToken(appID, cur.Value) != nil {
		t.Fatalf("Current after the report: %q %v", cur.Value, err)
	}
}
