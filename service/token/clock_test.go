package token_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/sandbox"
	"realname/service/redisconn/redistest"
	"realname/service/token"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestProductionLifetimeRefreshesAheadOnce runs six simulated hours of
// 7200 s tokens: every window is refreshed minutes before expiry (never by
// callers blocking at expiry), with one stable_token request per window.
func TestProductionLifetimeRefreshesAheadOnce(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)}
	srv := sandbox.New(quiet)
	wx := sandbox.NewWeChat(nil, sandbox.WeChatOptions{Apps: map[string]string{appID: secret}, Now: clk.now})
	wx.Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	conn := redistest.Open(t)
	var services []*token.Service
	for range 3 {
		f := token.NewWeChatFetcher(srv.URL(), token.ModeStable)
		f.Now = clk.now
		services = append(services, token.New(token.Deps{Redis: conn.Client, Prefix: conn.Prefix, Apps: []token.App{{AppID: appID, Secret: secret}}, Fetch: f,
			Log: quiet, Registry: prometheus.NewRegistry(), Options: token.Options{Now: clk.now}}))
	}
	ctx := context.Background()
	seen := map[string]time.Time{} // token → when first handed out
	prev := ""
	for range 6 * 3600 / 5 {
		for _, s := range services {
			v, err := s.Token(ctx, appID)
			if err != nil {
				t.Fatal(err)
			}
			if err := wx.ValidTokenAt(appID, v, clk.now()); err != nil {
				t.Fatalf("at %v: %v", clk.now(), err)
			}
			if _, ok := seen[v]; !ok {
				seen[v] = clk.now()
				if prev != "" {
					// The previous token must still have had minutes to
					// live when it was replaced: refreshed ahead.
					left := seen[prev].Add(7200 * time.Second).Sub(clk.now())
					if left < 3*time.Minute {
						t.Fatalf("token replaced with only %v left: refresh was not ahead of expiry", left)
					}
				}
				prev = v
			}
		}
		clk.add(5 * time.Second)
	}
	requests := srv.Calls()["wechat POST /cgi-bin/stable_token"]
	if requests != len(seen) {
		t.Fatalf("%d stable_token requests for %d windows", requests, len(seen))
	}
	if len(seen) < 3 || len(seen) > 4 {
		t.Fatalf("%d windows in 6 h of 2 h tokens", len(seen))
	}
}
