package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"realname/sandbox"
)

// faultsConfig is the flags of `bench faults`.
type faultsConfig struct {
	repo            string
	instances       int
	users           int
	duration        time.Duration
	down            time.Duration
	providerTimeout time.Duration
	pg              string
	fakeCache       bool
}

// PostgreSQL modes of `bench faults`.
const (
	pgPrivate = "private" // a cluster of the bench's own, really restarted
	pgShared  = "shared"  // a database on the shared server; backends terminated instead
)

func parseFaultsFlags(args []string, stderr io.Writer) (faultsConfig, error) {
	var c faultsConfig
	fs := newFlagSet("faults", stderr,
		"Runs the flow load while Redis is killed and restarted, PostgreSQL is crashed and",
		"restarted, WeChat fails then hangs, and the webhook receiver goes away; then checks",
		"that every verification ended decided, reviewable or visibly abandoned, that every",
		"decision has its webhook, and that no instance panicked or died. Redis and PostgreSQL",
		"are the bench's own: the machine's shared servers are never touched.",
	)
	fs.StringVar(&c.repo, "repo", "", "repository root to build the service from (default: found from the working directory)")
	fs.IntVar(&c.instances, "instances", 3, "service instances, each a child process")
	fs.IntVar(&c.users, "users", 50, "concurrent simulated Mini Program users")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long the load runs (longer if the scenarios need it)")
	fs.DurationVar(&c.down, "down", 5*time.Second, "how long Redis and PostgreSQL stay down")
	fs.DurationVar(&c.providerTimeout, "provider-timeout", 2*time.Second, "REALNAME_PROVIDER_TIMEOUT of the instances, so a hung vendor costs seconds, not the default 8s")
	fs.BoolVar(&c.fakeCache, "fake-cache", true, "reuse the fakes' OCR answer per sample image (see bench flow -h)")
	fs.StringVar(&c.pg, "pg", pgPrivate, "private: the bench's own PostgreSQL (initdb), crashed and restarted; shared: a fresh database on "+localPostgres+", its connections terminated instead")
	if err := parseArgs(fs, args); err != nil {
		return c, err
	}
	switch {
	case c.instances < 1 || c.users < 1 || c.duration <= 0 || c.down <= 0:
		return c, errors.New("-instances, -users, -duration and -down must be positive")
	case c.pg != pgPrivate && c.pg != pgShared:
		return c, fmt.Errorf("-pg must be %s or %s", pgPrivate, pgShared)
	case c.providerTimeout < 100*time.Millisecond:
		return c, errors.New("-provider-timeout must be at least 100ms (the service's minimum)")
	}
	return c, nil
}

// faultRun is a fault run under way: the stack, the load and the
// infrastructure the scenarios break.
type faultRun struct {
	cfg    faultsConfig
	st     *stack
	load   *load
	redis  *redisServer
	pg     *pgCluster // nil in shared mode
	hooks  *hookReceiver
	wired  bool
	start  time.Time
	stdout io.Writer
}

// runFaults is `bench faults`.
func runFaults(parent context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFaultsFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench faults:", err)
		return errUsage
	}
	ctx, cancel := context.WithTimeout(parent, 2*cfg.duration+15*time.Minute)
	defer cancel()
	cards, err := prepareCards()
	if err != nil {
		return err
	}
	st, err := newStack(ctx, cfg.repo)
	if err != nil {
		return err
	}
	defer st.close()
	f := &faultRun{cfg: cfg, st: st, stdout: stdout}
	dbURL, err := f.startStores(ctx)
	if err != nil {
		return err
	}
	if f.hooks, err = startHookReceiver(); err != nil {
		return err
	}
	defer f.hooks.stop()
	env := map[string]string{"REALNAME_PROVIDER_TIMEOUT": cfg.providerTimeout.String()}
	hookEnv, wired := webhookEnv(st.serveHelp(ctx), f.hooks.url())
	f.wired = wired
	for k, v := range hookEnv {
		env[k] = v
	}
	if err := st.start(ctx, stackConfig{instances: cfg.instances, db: dbURL, redis: f.redis.url(), env: env, fakeCache: cfg.fakeCache}); err != nil {
		st.keep = true
		return err
	}
	fmt.Fprintf(stdout, "bench faults: instances=%d users=%d duration=%v down=%v provider_timeout=%v postgres=%s webhooks_wired=%v loadavg=%s\n",
		cfg.instances, cfg.users, cfg.duration, cfg.down, cfg.providerTimeout, cfg.pg, wired, loadAvg())

	runID := randomSuffix()
	warm := loadConfig{targets: st.urls(), users: 1, count: cfg.instances, runID: runID + "w"}
	if w := runLoad(ctx, warm, cards); w.errorCount() > 0 || w.completed == 0 {
		printErrors(stdout, "faults: warm-up", w.flowTally)
		st.keep = true
		return fmt.Errorf("the warm-up verification failed; instance logs: %s", st.logs())
	}

	// The load has no end of its own: it stops once the scenarios are
	// over and the duration has passed.
	f.load = newLoad(loadConfig{targets: st.urls(), users: cfg.users, duration: 24 * time.Hour, ramp: time.Second,
		runID: runID, errPause: 200 * time.Millisecond}, cards)
	results := make(chan loadResult, 1)
	f.start = time.Now()
	go func() { results <- f.load.run(ctx) }()
	scenarios := f.scenarios()
	for _, s := range scenarios {
		// Some calm before each fault, so each one starts from a service
		// that has recovered from the last.
		sleepCtx(ctx, cfg.duration/time.Duration(2*len(scenarios)+2))
		if ctx.Err() != nil {
			break
		}
		f.play(ctx, s)
	}
	sleepCtx(ctx, time.Until(f.start.Add(cfg.duration)))
	f.load.stop()
	res := <-results
	return f.report(ctx, res, len(scenarios))
}

// startStores starts the bench's own Redis and PostgreSQL (or, in shared
// mode, lets the stack create a database on the shared server) and
// returns the database URL for the instances.
func (f *faultRun) startStores(ctx context.Context) (string, error) {
	var err error
	if f.redis, err = startRedisServer(ctx, f.st.tmp); err != nil {
		return "", err
	}
	// Registered now, so it runs after the instances have stopped.
	f.st.cleanups = append(f.st.cleanups, f.redis.kill)
	if f.cfg.pg == pgShared {
		return "", nil
	}
	f.pg, err = startPGCluster(ctx)
	if err != nil {
		fmt.Fprintf(f.stdout, "faults: no PostgreSQL of the bench's own (%v); using the shared server, where a restart is simulated by terminating the instances' connections\n", err)
		f.cfg.pg = pgShared
		return "", nil
	}
	f.st.cleanups = append(f.st.cleanups, f.pg.close)
	if err := pgExec(ctx, f.pg.dsn("postgres"), "CREATE DATABASE bench"); err != nil {
		return "", err
	}
	return f.pg.dsn("bench"), nil
}

// scenario is one fault: break does the damage and undoes it, returning
// what happened for the timeline.
type scenario struct {
	name  string
	apply func(ctx context.Context) (string, error)
}

func (f *faultRun) scenarios() []scenario {
	down := f.cfg.down
	list := []scenario{
		{"redis", func(ctx context.Context) (string, error) {
			f.redis.kill()
			sleepCtx(ctx, down)
			if err := f.redis.start(ctx); err != nil {
				return "", err
			}
			return fmt.Sprintf("redis-server killed (SIGKILL), down %v, restarted empty (no persistence, like the shared one)", down), nil
		}},
		{"postgres", f.postgresScenario},
		{"wechat", func(ctx context.Context) (string, error) {
			// The fault covers every WeChat endpoint: logins fail too.
			for _, mode := range []string{sandbox.ModeError, sandbox.ModeTimeout} {
				if err := f.st.fakes.setFault(sandbox.Fault{Upstream: sandbox.WeChatUpstream, Mode: mode}); err != nil {
					return "", err
				}
				sleepCtx(ctx, 2*down)
			}
			err := f.st.fakes.setFault(sandbox.Fault{Upstream: sandbox.WeChatUpstream, Mode: sandbox.ModeOK})
			return fmt.Sprintf("WeChat (login, token and OCR) answered system errors for %v, then hung for %v", 2*down, 2*down), err
		}},
	}
	if f.wired {
		list = append(list, scenario{"webhooks", func(ctx context.Context) (string, error) {
			f.hooks.stop()
			sleepCtx(ctx, 2*down)
			return fmt.Sprintf("webhook receiver down for %v", 2*down), f.hooks.start()
		}})
	}
	return list
}

// postgresScenario crashes and restarts the bench's own PostgreSQL, or
// on the shared server terminates the instances' connections.
func (f *faultRun) postgresScenario(ctx context.Context) (string, error) {
	if f.pg != nil {
		f.pg.crash()
		sleepCtx(ctx, f.cfg.down)
		if err := f.pg.start(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("postgres crashed (immediate shutdown: every backend ended, crash recovery at start), down %v, restarted", f.cfg.down), nil
	}
	u, err := url.Parse(f.st.dbURL)
	if err != nil {
		return "", err
	}
	name := strings.TrimPrefix(u.Path, "/")
	err = pgExec(ctx, localPostgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	return "postgres SIMULATED restart: every connection of the bench database terminated (pg_terminate_backend); the shared server itself was not restarted", err
}

// play runs one scenario and prints what it did, the requests that failed
// meanwhile, and how long until a verification completed again.
func (f *faultRun) play(ctx context.Context, s scenario) {
	at := time.Since(f.start)
	failedBefore := f.load.failures.Load()
	what, err := s.apply(ctx)
	if err != nil {
		fmt.Fprintf(f.stdout, "faults: t=%.1fs %s: could not be played: %v\n", at.Seconds(), s.name, err)
		return
	}
	restored := time.Now()
	recovered := "not within 60s"
	for time.Since(restored) < time.Minute && ctx.Err() == nil {
		if f.load.lastDone.Load() > restored.UnixNano() {
			recovered = fmt.Sprintf("%.1fs", time.Since(restored).Seconds())
			break
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	fmt.Fprintf(f.stdout, "faults: t=%.1fs %s: %s; failed_requests=%d; next verification completed after %s\n",
		at.Seconds(), s.name, what, f.load.failures.Load()-failedBefore, recovered)
}
