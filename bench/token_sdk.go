package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	// Only the SDK's leaf packages: the root package's init() switches
	// logrus to debug output on stdout. Nothing on the token path of these
	// three logs, so there is no logger to silence.
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"

	"realname/service/token"
)

// wechatAPI is the base URL the SDK hard-codes.
const wechatAPI = "https://api.weixin.qq.com"

// sdkLifetime is the token lifetime the SDK's margins were written for.
const sdkLifetime = 7200 * time.Second

// sdkMargin is how long before expiry the SDK drops a token from its cache:
// it caches expires_in minus 300 s (stable_token) or 1500 s (cgi-bin/token).
func sdkMargin(mode string) time.Duration {
	if mode == token.ModeClassic {
		return 1500 * time.Second
	}
	return 300 * time.Second
}

// scaledCache makes the SDK's margin the same share of a short bench
// lifetime as it is of WeChat's 7200 s. As is, the margin exceeds any
// lifetime under five minutes, the SDK caches nothing, and every get
// becomes a request: true to the code, but not what production sees.
type scaledCache struct {
	cache.Cache
	shift time.Duration // added to every timeout the SDK asks for
}

// Set stores val for the SDK's timeout lengthened by its margin minus the
// scaled margin.
func (c scaledCache) Set(key string, val any, timeout time.Duration) error {
	return c.Cache.Set(key, val, timeout+c.shift)
}

// runSDK is silenceper/wechat/v2's own token handle, one per instance,
// each with its own memory cache: the usual deployment of N instances
// without a shared cache. (The SDK's Redis cache needs go-redis v8 and is
// not what this compares against.)
func runSDK(ctx context.Context, cfg tokenConfig, scaled bool) (result, error) {
	fake, err := startFake(cfg.ttl)
	if err != nil {
		return result{}, err
	}
	defer fake.close()

	// The SDK's URL and HTTP client are process globals. Scenarios run one
	// at a time, and these are set before any caller starts and restored
	// after all have stopped.
	base := fake.srv.URL()
	util.SetURIModifier(func(uri string) string { return strings.Replace(uri, wechatAPI, base, 1) })
	defer util.SetURIModifier(nil)
	// http.DefaultClient keeps two idle connections per host; here all
	// instances share one process and would churn through sockets, which
	// separate processes would not.
	prevClient := util.DefaultHTTPClient
	util.DefaultHTTPClient = &http.Client{Timeout: callTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * cfg.instances}}
	defer func() { util.DefaultHTTPClient = prevClient }()

	name, setup := "sdk", fmt.Sprintf("cache=memory-per-instance margin=%v", sdkMargin(cfg.mode))
	shift := time.Duration(0)
	if scaled {
		// In float: margin × ttl in nanoseconds overflows int64.
		scaledMargin := time.Duration(float64(sdkMargin(cfg.mode)) * cfg.ttl.Seconds() / sdkLifetime.Seconds()).Round(time.Millisecond)
		shift = sdkMargin(cfg.mode) - scaledMargin
		name, setup = "sdk-scaled", fmt.Sprintf("cache=memory-per-instance margin=%v (scaled from %v)", scaledMargin, sdkMargin(cfg.mode))
	}
	getters := make([]getter, cfg.instances)
	for i := range getters {
		var c cache.Cache = cache.NewMemory()
		if scaled {
			c = scaledCache{Cache: c, shift: shift}
		}
		h := credential.NewStableAccessToken(benchAppID, benchSecret, credential.CacheKeyMiniProgramPrefix, c)
		if cfg.mode == token.ModeClassic {
			h = credential.NewDefaultAccessToken(benchAppID, benchSecret, credential.CacheKeyMiniProgramPrefix, c)
		}
		getters[i] = h.GetAccessTokenContext
	}
	t := hammer(ctx, fake.wx, getters, cfg.callers, cfg.duration, cfg.pause)
	requests, issued := fake.upstream(cfg.mode)
	return newResult(name, setup, cfg, t, requests, issued), nil
}
