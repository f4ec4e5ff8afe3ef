package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/service/redisconn"
	"realname/service/token"
)

// timeCachedToken times Token() on a warm cache, alone and from every CPU
// at once. The fake grants hour-long tokens so no refresh falls inside the
// timing and every call takes the fast path.
func timeCachedToken(ctx context.Context, conn *redisconn.Conn, log *slog.Logger) (serial, parallel testing.BenchmarkResult, err error) {
	fake, err := startFake(time.Hour)
	if err != nil {
		return serial, parallel, err
	}
	defer fake.close()
	s := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Key("cached:"), Apps: []token.App{{AppID: benchAppID, Secret: benchSecret}}, Fetch: token.NewWeChatFetcher(fake.srv.URL(), token.ModeStable),
		Log: log, Registry: prometheus.NewRegistry()})
	want, err := s.Token(ctx, benchAppID)
	if err != nil {
		return serial, parallel, fmt.Errorf("warm the cache: %w", err)
	}
	serial = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = s.Token(ctx, benchAppID)
		}
	})
	parallel = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = s.Token(ctx, benchAppID)
			}
		})
	})
	// A timing of the slow path would be worthless: make sure the token
	// never changed.
	if got, err := s.Token(ctx, benchAppID); err != nil || got != want {
		return serial, parallel, fmt.Errorf("the cached token changed during the timing (err %v)", err)
	}
	if _, stable, _ := fake.wx.Issued(benchAppID); stable != 1 {
		return serial, parallel, fmt.Errorf("%d upstream calls during the timing, want 1", stable)
	}
	return serial, parallel, nil
}

// nsPerOp is BenchmarkResult.NsPerOp with the fraction kept: a cached
// Get takes a few nanoseconds.
func nsPerOp(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// parallelism is how many goroutines RunParallel uses by default.
func parallelism() int { return runtime.GOMAXPROCS(0) }
