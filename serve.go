package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gorm.io/gorm"

	"realname/config"
	"realname/handler"
	"realname/model"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/lifecycle"
	"realname/service/notify"
	"realname/service/pii"
	"realname/service/redisconn"
	"realname/service/store"
	"realname/service/tracing"
	"realname/service/wake"
)

func serveCmd(args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr, true, "Serves the Mini Program API, the admin pages, /healthz, /readyz and /metrics.")
	sandboxFlag := fs.Bool("sandbox", false, "serve the upstream fakes in-process and use them (also on when no WeChat app id is set)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	environ = append([]string(nil), environ...)
	if *sandboxFlag {
		environ = append(environ, "REALNAME_SANDBOX=true")
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	log.Info("starting realname", "version", version, "config", cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tr, err := startTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing(tr, cfg, log)
	return serve(ctx, cfg, clock.System{}, log, tr)
}

// serve runs the server until ctx ends or one of its components fails.
// clk is the process's one clock: the wall clock in production, a fixed
// calendar in tests. The process is one lifecycle.Group: what assemble
// opens and adds starts in that order and stops in the reverse order,
// within REALNAME_SHUTDOWN_TIMEOUT. tr traces the requests, store steps,
// vendor calls, Redis, deliveries and the sweeper (tracing.Off(): nothing).
func serve(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger, tr *tracing.Provider) error {
	g := lifecycle.New(log, cfg.ShutdownTimeout)
	if err := assemble(ctx, g, cfg, clk, log, tr); err != nil {
		_ = g.Stop(ctx) // closes what was opened; its errors are logged
		return err
	}
	return g.Run(ctx)
}

// assemble builds the process into g: the stores (opened now), the
// upstreams, the services, then the components in the order they start —
// workers, then the side listeners, the API last — so the API drains
// first at a stop, and the database closes last.
func assemble(ctx context.Context, g *lifecycle.Group, cfg config.Config, clk clock.Clock, log *slog.Logger, tr *tracing.Provider) error {
	set, err := readSettings(cfg)
	if err != nil {
		return err
	}
	b, err := openBase(ctx, g, cfg, clk, log, tr)
	if err != nil {
		return err
	}
	up, err := openUpstreams(g, cfg, log)
	if err != nil {
		return err
	}
	svc, err := buildServices(ctx, b, up, set)
	if err != nil {
		return err
	}
	g.Add("token invalidations", lifecycle.NewJob(svc.tokens.Run)) // other instances'
	g.Add("webhook dispatcher", lifecycle.NewJob(svc.hooks.Run))   // finishes its in-flight POSTs at a stop
	g.Add("sweeper", lifecycle.NewJob(func(ctx context.Context) { svc.flow.RunSweeper(ctx, cfg.SweepInterval) }))
	if svc.courier != nil {
		g.Add("notification courier", lifecycle.NewJob(svc.courier.Run))
	}
	g.Add("api key use pruning", lifecycle.NewJob(func(ctx context.Context) {
		pruneKeyUses(ctx, svc.keys, cfg.APIKeyUseRetention, clk, log)
	}))
	engine, err := routes(b, up, svc, set)
	if err != nil {
		return err
	}
	if cfg.MetricsAddr != "" {
		g.Add("metrics listener", metricsListener(cfg.MetricsAddr, b.reg))
	}
	if cfg.PprofAddr != "" {
		g.Add("profiling endpoint", pprofListener(cfg.PprofAddr))
	}
	g.Add("http", apiServer(ctx, cfg, engine))
	return nil
}

// settings are the configuration's plain values as the services take
// them, read before anything opens: a bad value fails the start at once.
type settings struct {
	zone   *time.Location
	prices map[string]float64
	notify *notify.Template // nil: users are not told of review results
}

func readSettings(cfg config.Config) (settings, error) {
	var s settings
	var err error
	if s.zone, err = time.LoadLocation(cfg.Timezone); err != nil { // checked by Validate; tzdata is built in
		return s, fmt.Errorf("REALNAME_TIMEZONE: %w", err)
	}
	if s.prices, err = config.ParsePrices(cfg.Prices); err != nil { // checked by Validate
		return s, fmt.Errorf("REALNAME_PRICES: %w", err)
	}
	fields, err := notify.ParseFields(cfg.WeChat.ReviewTemplateFields)
	if err != nil {
		return s, fmt.Errorf("REALNAME_WECHAT_REVIEW_TEMPLATE_FIELDS: %w", err)
	}
	if w := cfg.WeChat; w.ReviewTemplateID != "" {
		s.notify = &notify.Template{ID: w.ReviewTemplateID, Page: w.ReviewPage, State: w.MiniprogramState, Fields: fields}
	}
	return s, nil
}

// base is what every part of the process shares: the configuration, the
// clock, the logs and metrics, the key ring, and the stores.
type base struct {
	cfg   config.Config
	clk   clock.Clock
	log   *slog.Logger
	reg   *prometheus.Registry
	ring  *pii.KeyRing
	db    *gorm.DB
	rdb   *redisconn.Conn
	wakes *wake.Hub
	st    *store.Store
	tr    *tracing.Provider
}

// openBase opens the database (migrated) and Redis into g, and adds the
// wake-ups between instances, which start first.
func openBase(ctx context.Context, g *lifecycle.Group, cfg config.Config, clk clock.Clock, log *slog.Logger, tr *tracing.Provider) (*base, error) {
	ring, err := masterKeyRing(cfg, log)
	if err != nil {
		return nil, err
	}
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log, clk.Now)
	if err != nil {
		return nil, err
	}
	g.Opened("database", func(context.Context) error { return model.Close(db) })
	if sqlDB, err := db.DB(); err == nil && db.Name() != model.DialectSQLite {
		model.SetPool(sqlDB, cfg.DBMaxConns)
	}
	if err := model.Migrate(ctx, db); err != nil {
		return nil, err
	}
	rdb, err := redisconn.Open(ctx, cfg.RedisURL, cfg.RedisPrefix, log)
	if err != nil {
		return nil, err
	}
	g.Opened("redis", func(context.Context) error { return rdb.Close() })
	if err := tr.InstrumentRedis(rdb.Client); err != nil {
		return nil, err
	}
	log.Info("stores ready", "database", db.Name(), "redis", rdb.Kind)
	warnIfRedisForgets(ctx, rdb, log)
	// Commits that queue webhook work wake the dispatchers of every
	// instance at once; their poll only covers a lost wake-up.
	wakes := wake.New(wake.Options{Dialect: db.Name(), PostgresDSN: cfg.DatabaseURL, Redis: rdb.Client, Prefix: rdb.Prefix, Log: log.With("component", "wake")})
	g.Add("wake listeners", lifecycle.NewJob(wakes.Run))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_db_statements_total",
			Help: "SQL statements this instance sent to the database."},
			func() float64 { return float64(model.StatementCounts(db).Statements) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_db_commits_total",
			Help: "Transactions this instance committed; a statement outside a transaction counts as one."},
			func() float64 { return float64(model.StatementCounts(db).Commits) }))
	st := store.New(db, clk, log).SignalOutbox(wakes.Line(wake.Outbox)).TraceWith(tr.TracerProvider())
	st.CountTransitions(reg)
	return &base{cfg: cfg, clk: clk, log: log, reg: reg, ring: ring, db: db, rdb: rdb, wakes: wakes, tr: tr, st: st}, nil
}

// upstreams is where WeChat and the vendors are: the configured ones, or
// the sandbox's fakes.
type upstreams struct {
	apps       []config.WeChatApp // the first is the default app
	apiBase    string             // WeChat's API
	sandboxURL string             // "" outside sandbox mode
}

// openUpstreams starts the sandbox into g in sandbox mode.
func openUpstreams(g *lifecycle.Group, cfg config.Config, log *slog.Logger) (upstreams, error) {
	up := upstreams{apps: cfg.WeChat.AppList(), apiBase: cfg.WeChat.APIBase}
	if !cfg.SandboxMode() {
		return up, nil
	}
	sb, apps, err := startSandbox(cfg, up.apps, log)
	if err != nil {
		return up, err
	}
	g.Opened("sandbox", sb.Close)
	log.Warn("sandbox mode: upstreams are in-process fakes, no real WeChat or vendor is called", "sandbox_url", sb.URL())
	return upstreams{apps: apps, apiBase: sb.URL(), sandboxURL: sb.URL()}, nil
}

// startSandbox serves the upstream fakes. The WeChat fake knows the
// configured apps (so --sandbox works with a real config) or, when there is
// none, the sandbox app, which it returns as the app to use.
func startSandbox(cfg config.Config, apps []config.WeChatApp, log *slog.Logger) (*sandbox.Server, []config.WeChatApp, error) {
	cards, err := sandbox.LoadCards()
	if err != nil {
		return nil, nil, err
	}
	var known map[string]string // nil: the fake's own sandbox app
	if len(apps) == 0 {
		apps = []config.WeChatApp{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}
	} else {
		known = map[string]string{}
		for _, a := range apps {
			known[a.AppID] = a.Secret
		}
	}
	sb := sandbox.New(log.With("component", "sandbox"))
	sandbox.NewWeChat(cards, sandbox.WeChatOptions{Apps: known}).Mount(sb)
	sandbox.NewApizero(cards, sandbox.SandboxApizeroKey).Mount(sb)
	sandbox.NewApistore(cards, sandbox.SandboxApistoreAppID, sandbox.SandboxApistoreSecret).Mount(sb)
	sandbox.NewAcedata(cards, sandbox.SandboxAcedataKey).Mount(sb)
	if err := sb.Start(cfg.SandboxAddr); err != nil {
		return nil, nil, err
	}
	return sb, apps, nil
}

// apiServer is the main listener. Its requests' contexts keep ctx's
// values but not its end: a SIGTERM lets the requests in flight finish,
// within the shutdown timeout.
func apiServer(ctx context.Context, cfg config.Config, h http.Handler) *lifecycle.Server {
	return &lifecycle.Server{Drain: true, HTTP: &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 30*time.Second, // slow mobile uploads
		WriteTimeout:      cfg.RequestTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(_ net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}}
}

func pingDB(db *gorm.DB) handler.Check {
	return func(ctx context.Context) error {
		sqlDB, err := db.DB()
		if err != nil {
			return err
		}
		return sqlDB.PingContext(ctx)
	}
}

func closeLogged(log *slog.Logger, what string, fn func() error) {
	if err := fn(); err != nil {
		log.Error("close failed", "what", what, "err", err)
	}
}
