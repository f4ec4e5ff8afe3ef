package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/redisconn"
	"realname/service/wake"
	"realname/service/webhook"
)

// webhooksConfig is the flags of `bench webhooks`.
type webhooksConfig struct {
	dsn       string
	live      int
	liveRate  int
	backlog   int
	instances int
	workers   int
	batch     int
	profile   string
	redis     string
}

func parseWebhooksFlags(args []string, stderr io.Writer) (webhooksConfig, error) {
	var c webhooksConfig
	fs := newFlagSet("webhooks", stderr,
		"Writes outbox events as the verification flow does and lets the webhook dispatcher",
		"deliver them to a local receiver: first while it runs (rate, latency), then as a backlog",
		"written while it was stopped (drain time). Fails when an event does not arrive.",
	)
	fs.StringVar(&c.dsn, "db", "", "database URL of a scratch database (postgres://… or mysql://…); empty: a temporary SQLite file")
	fs.StringVar(&c.redis, "redis", "", "Redis URL carrying wake-ups between instances on MySQL (PostgreSQL carries its own); empty: each instance wakes only itself")
	fs.IntVar(&c.live, "live", 5000, "events written while the dispatchers run, for the commit-to-receipt latency")
	fs.IntVar(&c.liveRate, "live-rate", 1000, "events per second written in the live phase")
	fs.IntVar(&c.backlog, "backlog", 100000, "events written while the dispatchers are stopped, then drained")
	fs.IntVar(&c.instances, "instances", 1, "dispatcher instances, each with its own connection pool (SQLite: 1)")
	fs.IntVar(&c.workers, "workers", 0, "workers per instance (0: the service default)")
	fs.IntVar(&c.batch, "batch", 0, "deliveries a worker claims at once (0: the service default)")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of the backlog drain to this file")
	if err := parseArgs(fs, args); err != nil {
		return c, err
	}
	switch {
	case c.live < 0 || c.backlog < 0 || c.live+c.backlog == 0:
		return c, errors.New("-live and -backlog must not be negative, and not both zero")
	case c.liveRate < 1:
		return c, errors.New("-live-rate must be positive")
	case c.instances < 1 || c.workers < 0 || c.batch < 0:
		return c, errors.New("-instances must be positive, -workers and -batch not negative")
	case c.dsn == "" && c.instances > 1:
		return c, errors.New("SQLite serves one process: -instances > 1 needs -db")
	}
	return c, nil
}

// runWebhooks is `bench webhooks`.
func runWebhooks(parent context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseWebhooksFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench webhooks:", err)
		return errUsage
	}
	ctx, cancel := context.WithTimeout(parent, 15*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	dsn := cfg.dsn
	if dsn == "" {
		dir, err := os.MkdirTemp("", "realname-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = "sqlite://" + filepath.Join(dir, "bench.db")
	}
	db, ring, err := openMigrated(ctx, dsn, "", quiet)
	if err != nil {
		return err
	}
	defer model.Close(db)
	// The receiver listens on loopback, which only the allow list opens.
	opts := webhook.Options{Workers: cfg.workers, BatchSize: cfg.batch,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	services := make([]*webhook.Service, cfg.instances)
	for i := range services {
		idb := db
		if i > 0 {
			if idb, err = model.Open(ctx, dsn, "", quiet, clock.System{}.Now); err != nil {
				return err
			}
			defer model.Close(idb)
		}
		if services[i], err = webhook.New(idb, ring, log, prometheus.NewRegistry(), opts); err != nil {
			return err
		}
	}
	// Wake-ups as serve wires them: the writer announces its commits, the
	// poll (5 s) is only the safety net.
	run0 := newWebhookRunID()
	var rdb redis.UniversalClient
	if cfg.redis != "" {
		if rdb, _, err = redisconn.NewClient(cfg.redis); err != nil {
			return err
		}
		defer rdb.Close()
	}
	outbox, stopWake := wireWake(ctx, services, dsn, db.Name(), run0, rdb)
	defer stopWake()
	rcv := newWebhookSink()
	defer rcv.srv.Close()
	ep, _, err := services[0].CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.srv.URL + "/hooks"})
	if err != nil {
		return err
	}
	run := newWebhookRunID()
	if cfg.dsn != "" {
		defer cleanupWebhookBench(db, services[0], ep.ID, run, stderr)
	}
	fmt.Fprintf(stdout, "bench webhooks: db=%s instances=%d live=%d backlog=%d receiver=%s\n",
		db.Name(), cfg.instances, cfg.live, cfg.backlog, rcv.srv.URL)

	passed := true
	if cfg.live > 0 {
		stop := startWebhookDispatchers(ctx, services)
		readCtx, stopReading := context.WithCancel(ctx)
		reader, err := startFeedReader(readCtx, services[len(services)-1])
		if err != nil {
			stopReading()
			stop()
			return err
		}
		start := time.Now()
		created, err := writeWebhookEvents(ctx, db, run, 0, cfg.live, max(1, cfg.liveRate/20), time.Second/20, outbox)
		if err != nil {
			stopReading()
			stop()
			return err
		}
		ok := rcv.await(ctx, cfg.live, stdout)
		took := time.Since(start)
		stopReading()
		<-reader.done
		stop()
		lat := rcv.latencies(created)
		fmt.Fprintf(stdout, "live: events=%d at %d/s delivered=%d in %.2fs latency p50=%v p99=%v max=%v (commit to receipt; woken by the commit)\n",
			cfg.live, cfg.liveRate, rcv.distinct(), took.Seconds(), percentile(lat, 50), percentile(lat, 99), percentile(lat, 100))
		feed := reader.latencies(created)
		fmt.Fprintf(stdout, "feed: events=%d visible p50=%v p99=%v max=%v (commit to visible through a long-poll on instance %d)\n",
			len(feed), percentile(feed, 50), percentile(feed, 99), percentile(feed, 100), len(services))
		passed = passed && ok
	}
	if cfg.backlog > 0 && ctx.Err() == nil {
		before := rcv.distinct()
		start := time.Now()
		if _, err := writeWebhookEvents(ctx, db, run, cfg.live, cfg.backlog, 1000, 0, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backlog: %d events written in %.2fs with the dispatchers stopped\n", cfg.backlog, time.Since(start).Seconds())
		if cfg.profile != "" {
			f, err := os.Create(cfg.profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		stop := startWebhookDispatchers(ctx, services)
		start = time.Now()
		ok := rcv.await(ctx, before+cfg.backlog, stdout)
		drained := time.Since(start)
		stop()
		if cfg.profile != "" {
			pprof.StopCPUProfile()
		}
		got := rcv.distinct() - before
		passed = passed && ok
		if !ok {
			fmt.Fprintf(stdout, "webhooks: FAILED: %d of %d backlog events arrived\n", got, cfg.backlog)
		}
		if dup := rcv.total() - rcv.distinct(); dup > 0 {
			fmt.Fprintf(stdout, "webhooks: %d events arrived more than once (allowed: at-least-once)\n", dup)
		}
		// The summary line goes last: scripts read it.
		fmt.Fprintf(stdout, "webhooks: backlog=%d drained_in=%.2fs rate=%.0f deliveries/s\n",
			got, drained.Seconds(), float64(got)/drained.Seconds())
	}
	if !passed || ctx.Err() != nil {
		return errFailed
	}
	return nil
}

// startWebhookDispatchers runs every instance's dispatcher; the returned function
// stops them and waits.
func startWebhookDispatchers(ctx context.Context, services []*webhook.Service) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Go(func() { s.Run(ctx) })
	}
	return func() { cancel(); wg.Wait() }
}

func newWebhookRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "evt_bench" + hex.EncodeToString(b) + "_"
}

// writeWebhookEvents inserts n outbox rows numbered from first, batch per
// transaction, one transaction every pace (0: as fast as it can), as the
// flow's transitions would (announcing each commit on line, as the store
// does), and returns their commit times by id.
func writeWebhookEvents(ctx context.Context, db *gorm.DB, run string, first, n, batch int, pace time.Duration, line *wake.Line) (map[string]time.Time, error) {
	created := make(map[string]time.Time, n)
	rows := make([]model.WebhookEvent, 0, batch)
	next := time.Now()
	for i := first; i < first+n; i += batch {
		if pace > 0 {
			time.Sleep(time.Until(next))
			next = next.Add(pace)
		}
		rows = rows[:0]
		now := time.Now().UTC().Truncate(time.Millisecond)
		for j := i; j < min(first+n, i+batch); j++ {
			vid := int64(j + 1)
			payload, _ := json.Marshal(map[string]any{"verification_id": vid, "appid": "wxbench000000000001",
				"openid": fmt.Sprintf("oBench%010d", j), "state": "verified", "mode": "photo", "name_masked": "张*",
				"id_number_masked": "1101**********1234", "version": 4, "final": true, "at": now})
			rows = append(rows, model.WebhookEvent{ID: fmt.Sprintf("%s%08d", run, j), Type: "verification.verified",
				VerificationID: &vid, Payload: string(payload), CreatedAt: now})
		}
		if err := insertEvents(ctx, db, rows, line); err != nil {
			return created, fmt.Errorf("write events: %w", err)
		}
		committed := time.Now()
		for _, r := range rows {
			created[r.ID] = committed
		}
	}
	return created, nil
}

// cleanupWebhookBench removes the run's rows from a scratch server database.
func cleanupWebhookBench(db *gorm.DB, s *webhook.Service, endpoint int64, run string, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.DeleteEndpoint(ctx, endpoint); err != nil {
		fmt.Fprintln(stderr, "bench webhooks: cleanup:", err)
	}
	if err := db.WithContext(ctx).Where("id LIKE ?", run+"%").Delete(&model.WebhookEvent{}).Error; err != nil {
		fmt.Fprintln(stderr, "bench webhooks: cleanup:", err)
	}
}

// webhookSink is the business system: it answers 204 and notes when each
// event id first arrived.
type webhookSink struct {
	srv   *httptest.Server
	mu    sync.Mutex
	first map[string]time.Time
	count int
}

func newWebhookSink() *webhookSink {
	r := &webhookSink{first: map[string]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get(webhook.HeaderID)
		now := time.Now()
		r.mu.Lock()
		if _, seen := r.first[id]; !seen {
			r.first[id] = now
		}
		r.count++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

func (r *webhookSink) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

func (r *webhookSink) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// await waits until want distinct events arrived, printing progress every
// five seconds; it gives up when nothing arrives for a minute.
func (r *webhookSink) await(ctx context.Context, want int, stdout io.Writer) bool {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, lastAt, report := r.distinct(), time.Now(), time.Now()
	for {
		n := r.distinct()
		if n >= want {
			return true
		}
		if n != last {
			last, lastAt = n, time.Now()
		}
		if time.Since(lastAt) > time.Minute {
			fmt.Fprintf(stdout, "webhooks: stalled at %d of %d\n", n, want)
			return false
		}
		if time.Since(report) >= 5*time.Second {
			fmt.Fprintf(stdout, "  … %d of %d delivered\n", n, want)
			report = time.Now()
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// latencies returns, sorted, how long each event took from its commit to
// its first arrival.
func (r *webhookSink) latencies(created map[string]time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sinceCommit(created, r.first)
}

// sinceCommit is, sorted, how long each event took from its commit
// (created) to when it was seen (seen); events never seen are left out.
func sinceCommit(created, seen map[string]time.Time) []time.Duration {
	out := make([]time.Duration, 0, len(created))
	for id, at := range created {
		if got, ok := seen[id]; ok {
			out = append(out, got.Sub(at))
		}
	}
	slices.Sort(out)
	return out
}

// percentile is the p-th percentile of sorted durations, rounded for reading.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, len(sorted)*p/100)
	return sorted[i].Round(time.Millisecond)
}
