package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/service/redisconn"
	"realname/service/token"
)

// tokenConfig is the flags of `bench token`.
type tokenConfig struct {
	redisURL  string
	instances int
	callers   int // per instance
	ttl       time.Duration
	duration  time.Duration
	pause     time.Duration
	mode      string
}

func parseTokenFlags(args []string, stderr io.Writer) (tokenConfig, error) {
	var c tokenConfig
	fs := newFlagSet("token", stderr,
		"Runs the SDK's own token cache (one memory cache per instance, as is and with its",
		"margin scaled to -ttl), then the token service (one Redis for all instances), against",
		"a fresh WeChat fake each; then times a cached Token(). Fails when the service hands",
		"out a token WeChat rejects or calls WeChat more than once per token window.",
	)
	fs.StringVar(&c.redisURL, "redis", os.Getenv("REALNAME_REDIS_URL"), "Redis URL (default $REALNAME_REDIS_URL; empty: an in-process Redis)")
	fs.IntVar(&c.instances, "instances", 3, "service instances sharing one Redis")
	fs.IntVar(&c.callers, "callers", 1000, "concurrent callers per instance")
	fs.DurationVar(&c.ttl, "ttl", 4*time.Second, "token lifetime the WeChat fake grants (whole seconds, at least 2s)")
	fs.DurationVar(&c.duration, "duration", 12*time.Second, "how long each scenario runs")
	fs.DurationVar(&c.pause, "pause", 20*time.Millisecond, "each caller's pause between two gets")
	fs.StringVar(&c.mode, "mode", token.ModeStable, "WeChat token endpoint: stable (stable_token) or classic (cgi-bin/token)")
	if err := parseArgs(fs, args); err != nil {
		return c, err
	}
	switch {
	case c.mode != token.ModeStable && c.mode != token.ModeClassic:
		return c, fmt.Errorf("-mode must be %s or %s", token.ModeStable, token.ModeClassic)
	// The fake answers expires_in in whole seconds; under 2 s it would
	// grant tokens that are dead on arrival.
	case c.ttl < 2*time.Second || c.ttl%time.Second != 0:
		return c, errors.New("-ttl must be whole seconds, at least 2s")
	case c.instances < 1 || c.callers < 1 || c.duration <= 0 || c.pause < 0:
		return c, errors.New("-instances, -callers and -duration must be positive")
	}
	return c, nil
}

// runToken is `bench token`.
func runToken(parent context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseTokenFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench token:", err)
		return errUsage
	}
	// Three scenarios of cfg.duration plus the timing, with room for a
	// slow Redis; nothing should run longer.
	ctx, cancel := context.WithTimeout(parent, 3*cfg.duration+2*time.Minute)
	defer cancel()

	conn, err := openBenchRedis(ctx, cfg.redisURL)
	if err != nil {
		return err
	}
	defer cleanupRedis(conn)
	// The service's own warnings (lock expired, Redis down) explain a bad
	// result, so they go to stderr; the quiet logger is for the fakes.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	fmt.Fprintf(stdout, "bench token: mode=%s ttl=%v duration=%v instances=%d callers/instance=%d pause=%v redis=%s\n",
		cfg.mode, cfg.ttl, cfg.duration, cfg.instances, cfg.callers, cfg.pause, conn.Kind)

	for _, scaled := range []bool{false, true} {
		r, err := runSDK(ctx, cfg, scaled)
		if err != nil {
			return err
		}
		r.print(stdout)
	}

	ours, err := runOurs(ctx, cfg, conn, log)
	if err != nil {
		return err
	}
	ours.print(stdout)
	// Once interrupted, the scenarios above return at once with what they
	// counted; only the timing is skipped, so the summary still prints.
	if ctx.Err() == nil {
		serial, parallel, err := timeCachedToken(ctx, conn, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token: cached Get %.1f ns/op %d allocs/op\n", nsPerOp(serial), serial.AllocsPerOp())
		fmt.Fprintf(stdout, "token: cached Get, %d goroutines in parallel: %.1f ns/op %d allocs/op\n",
			parallelism(), nsPerOp(parallel), parallel.AllocsPerOp())
	}

	passed := ours.passed() && ctx.Err() == nil
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "token: INCOMPLETE: interrupted or out of time; the numbers cover only part of the run")
	case !passed:
		fmt.Fprintf(stdout, "token: FAILED: want failures=0 errors=0 and upstream_calls = issued = windows; first error: %v\n", ours.firstErr)
	}
	// The summary line goes last: scripts read it.
	fmt.Fprintf(stdout, "token: instances=%d callers=%d windows=%d upstream_calls=%d\n",
		ours.instances, ours.callers, ours.windows, ours.requests)
	if !passed {
		return errFailed
	}
	return nil
}

// openBenchRedis connects with a key prefix unique to this run, so runs
// against one Redis (or alongside a server) never read each other's tokens.
func openBenchRedis(ctx context.Context, url string) (*redisconn.Conn, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return redisconn.Open(ctx, url, "bench:"+hex.EncodeToString(b)+":", quiet)
}

// cleanupRedis deletes the run's keys; they expire anyway, but a real
// Redis should not keep a bench's leftovers around until then.
func cleanupRedis(conn *redisconn.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := conn.Client.Scan(ctx, 0, conn.Prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		conn.Client.Del(ctx, iter.Val())
	}
	_ = conn.Close()
}

// runOurs is the token service: cfg.instances services, as separate
// processes would have, coordinating through one Redis.
func runOurs(ctx context.Context, cfg tokenConfig, conn *redisconn.Conn, log *slog.Logger) (result, error) {
	fake, err := startFake(cfg.ttl)
	if err != nil {
		return result{}, err
	}
	defer fake.close()
	apps := []token.App{{AppID: benchAppID, Secret: benchSecret}}
	getters := make([]getter, cfg.instances)
	for i := range getters {
		// Default options: the bench measures what production runs. Each
		// instance has its own fetcher and registry, as a process would.
		s := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Key("share:"), Apps: apps, Fetch: token.NewWeChatFetcher(fake.srv.URL(), cfg.mode),
			Log: log, Registry: prometheus.NewRegistry()})
		getters[i] = func(ctx context.Context) (string, error) { return s.Token(ctx, benchAppID) }
	}
	t := hammer(ctx, fake.wx, getters, cfg.callers, cfg.duration, cfg.pause)
	requests, issued := fake.upstream(cfg.mode)
	return newResult("token", "redis=shared", cfg, t, requests, issued), nil
}
