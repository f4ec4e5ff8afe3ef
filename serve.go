package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gorm.io/gorm"

	"realname/config"
	"realname/handler"
	"realname/model"
	"realname/sandbox"
	"realname/service/admin"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/face"
	"realname/service/idcheck"
	"realname/service/idempotency"
	"realname/service/login"
	"realname/service/notify"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/ratelimit"
	"realname/service/redisconn"
	"realname/service/review"
	"realname/service/session"
	"realname/service/store"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/wake"
	"realname/service/webhook"
	"realname/service/wechat"
	"realname/web"
)

// masterKeyRing returns the personal-data key ring. Outside production a
// missing key is generated once into DATA_DIR so `go run .` just works; the
// file is the only copy, so losing it loses the encrypted data.
func masterKeyRing(cfg config.Config, log *slog.Logger) (*pii.KeyRing, error) {
	spec := cfg.MasterKey
	if spec == "" {
		path := filepath.Join(cfg.DataDir, "master.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			spec = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			if spec, err = pii.GenerateKeySpec(); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create %s: %w", cfg.DataDir, err)
			}
			if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
			log.Warn("generated a development master key; set REALNAME_MASTER_KEY in production", "path", path)
		default:
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		return nil, fmt.Errorf("REALNAME_MASTER_KEY: %w", err)
	}
	return ring, nil
}

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
	return serve(ctx, cfg, clock.System{}, log)
}

// serve runs the server until ctx ends. clk is the process's one clock:
// the wall clock in production, a fixed calendar in tests.
func serve(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger) error {
	ring, err := masterKeyRing(cfg, log)
	if err != nil {
		return err
	}
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log, clk.Now)
	if err != nil {
		return err
	}
	defer closeLogged(log, "database", func() error { return model.Close(db) })
	if sqlDB, err := db.DB(); err == nil && db.Name() != model.DialectSQLite {
		model.SetPool(sqlDB, cfg.DBMaxConns)
	}
	if err := model.Migrate(ctx, db); err != nil {
		return err
	}
	rdb, err := redisconn.Open(ctx, cfg.RedisURL, cfg.RedisPrefix, log)
	if err != nil {
		return err
	}
	defer closeLogged(log, "redis", rdb.Close)
	log.Info("stores ready", "database", db.Name(), "redis", rdb.Kind)
	warnIfRedisForgets(ctx, rdb, log)
	// Commits that queue webhook work wake the dispatchers of every
	// instance at once; their poll only covers a lost wake-up.
	wakes := wake.New(wake.Options{Dialect: db.Name(), PostgresDSN: cfg.DatabaseURL, Redis: rdb.Client, Prefix: rdb.Prefix, Log: log.With("component", "wake")})
	wakeCtx, stopWake := context.WithCancel(ctx)
	wakeDone := make(chan struct{})
	go func() { defer close(wakeDone); wakes.Run(wakeCtx) }()
	defer func() { stopWake(); <-wakeDone }()
	verifications := store.New(db, clk, log).SignalOutbox(wakes.Line(wake.Outbox))

	templates, err := web.Templates()
	if err != nil {
		return err
	}
	zone, err := time.LoadLocation(cfg.Timezone) // checked by Validate; tzdata is built in
	if err != nil {
		return fmt.Errorf("REALNAME_TIMEZONE: %w", err)
	}
	catalog, err := web.NewCatalog(zone)
	if err != nil {
		return err
	}
	prices, err := config.ParsePrices(cfg.Prices) // checked by Validate
	if err != nil {
		return fmt.Errorf("REALNAME_PRICES: %w", err)
	}
	apps, apiBase := cfg.WeChat.AppList(), cfg.WeChat.APIBase
	var sandboxURL string
	if cfg.SandboxMode() {
		sb, sbApps, err := startSandbox(cfg, apps, log)
		if err != nil {
			return err
		}
		defer closeLogged(log, "sandbox", func() error { return sb.Close(context.Background()) })
		apps, apiBase, sandboxURL = sbApps, sb.URL(), sb.URL()
		log.Warn("sandbox mode: upstreams are in-process fakes, no real WeChat or vendor is called", "sandbox_url", sb.URL())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_db_statements_total",
			Help: "SQL statements this instance sent to the database."},
			func() float64 { return float64(model.StatementCounts(db).Statements) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_db_commits_total",
			Help: "Transactions this instance committed; a statement outside a transaction counts as one."},
			func() float64 { return float64(model.StatementCounts(db).Commits) }))
	verifications.CountTransitions(reg)
	wechat.RedirectSDK(apiBase)
	tokenApps := make([]token.App, len(apps))
	wxApps := make([]wechat.App, len(apps))
	for i, a := range apps {
		tokenApps[i] = token.App{AppID: a.AppID, Secret: a.Secret}
		wxApps[i] = wechat.App{AppID: a.AppID, Secret: a.Secret}
	}
	tokens := token.New(rdb.Client, rdb.Prefix, tokenApps, token.NewWeChatFetcher(apiBase, cfg.WeChat.TokenMode), log, reg, token.Options{})
	sessions := session.NewStore(rdb.Client, rdb.Prefix, cfg.SessionTTL, cfg.SessionsPerUser)
	wx := wechat.NewClient(wxApps, tokens)
	logins := login.New(db, wx, sessions, ring, apps[0].AppID)
	photos, err := openPhotos(ctx, cfg, db.Name(), verifications, ring, clk)
	if err != nil {
		return err
	}
	flow, err := buildFlow(cfg, verifications, photos, rdb, ring, tokens, apiBase, sandboxURL, apps[0].AppID, clk, log, reg)
	if err != nil {
		return err
	}
	hooks, err := buildWebhooks(ctx, cfg, db, ring, clk, log, reg)
	if err != nil {
		return err
	}
	hooks.WakeOn(wakes.Line(wake.Outbox), wakes.Line(wake.Deliveries))
	hooks.FeedOn(wakes.Line(wake.Feed))
	hooksCtx, stopHooks := context.WithCancel(ctx)
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); hooks.Run(hooksCtx) }()
	// Stop the dispatcher (it finishes its in-flight POSTs) before the database closes.
	defer func() { stopHooks(); <-hooksDone }()
	// Other instances' token invalidations, until the stores close.
	tokensCtx, stopTokens := context.WithCancel(ctx)
	tokensDone := make(chan struct{})
	go func() { defer close(tokensDone); tokens.Run(tokensCtx) }()
	defer func() { stopTokens(); <-tokensDone }()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); flow.RunSweeper(sweepCtx, cfg.SweepInterval) }()
	// Stop the sweeper before the stores close (defers run last-in first-out).
	defer func() { stopSweep(); <-sweepDone }()
	accounts, err := admin.New(db, rdb.Client, rdb.Prefix, admin.Options{Clock: clk, SessionTTL: cfg.Admin.SessionTTL, IdleTimeout: cfg.Admin.IdleTimeout,
		MaxFailures: cfg.Admin.MaxFailures, LockFor: cfg.Admin.LockFor}, log)
	if err != nil {
		return err
	}
	notifyUsers := cfg.WeChat.ReviewTemplateID != ""
	if notifyUsers {
		fields, _ := notify.ParseFields(cfg.WeChat.ReviewTemplateFields) // validated with the config
		courier := notify.NewCourier(verifications, wx, notify.Template{ID: cfg.WeChat.ReviewTemplateID, Page: cfg.WeChat.ReviewPage,
			State: cfg.WeChat.MiniprogramState, Fields: fields}, clk, log)
		notifyCtx, stopNotify := context.WithCancel(ctx)
		notifyDone := make(chan struct{})
		go func() { defer close(notifyDone); courier.Run(notifyCtx) }()
		defer func() { stopNotify(); <-notifyDone }()
	}
	keys := apikey.New(verifications, rdb.Client, rdb.Prefix, cfg.ServerAPIRate, appIDs(apps), clk, log)
	pruneCtx, stopPrune := context.WithCancel(ctx)
	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); pruneKeyUses(pruneCtx, keys, cfg.APIKeyUseRetention, clk, log) }()
	defer func() { stopPrune(); <-pruneDone }()
	reviews := review.New(db, ring, photos, verifications, review.Options{ClaimTTL: cfg.Admin.ClaimTTL, RevealWindow: cfg.Admin.RevealTTL,
		RevealLimit: cfg.Admin.RevealLimit, RevealLimitWindow: cfg.Admin.RevealLimitWindow, Registry: reg,
		Clock: clk, Zone: zone, NotifyUser: notifyUsers}, log)
	reg.MustRegister(reviews.BacklogCollector(cfg.ReviewSLA, log))
	disk := handler.NewDiskWatch(localDataDir(cfg, db.Name()), minFreeDisk, clk.Now)
	engine := handler.New(handler.Deps{
		Log:      log,
		Registry: reg,
		Checks: map[string]handler.Check{
			"database": pingDB(db),
			"redis":    rdb.Ping,
			"disk":     disk.Check,
		},
		Disk:              disk,
		Version:           version,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		MaxUploadBytes:    cfg.MaxUploadBytes,
		RequestTimeout:    cfg.RequestTimeout,
		Templates:         templates,
		Static:            web.Static(),
		SandboxURL:        sandboxURL,
		Login:             logins,
		Sessions:          sessions,
		Verify:            flow,
		Idempotency:       idempotency.NewStore(rdb.Client, rdb.Prefix, 24*time.Hour, 2*time.Minute, func(b []byte) []byte { return ring.Hash("idempotency", b) }, ring),
		Tokens:            tokens,
		TokenServerSecret: cfg.WeChat.TokenServerSecret,
		DefaultAppID:      apps[0].AppID,
		ConsentVersion:    cfg.ConsentVersion,
		TrustedProxies:    cfg.TrustedProxies,
		// The CSRF key is derived from the key ring: the same on every
		// instance, and never the key itself.
		Admin: &handler.AdminDeps{Accounts: accounts, Review: reviews, Tokens: tokens, Webhooks: handler.NewWebhookAdmin(hooks), Clock: clk,
			CSRFKey: ring.Hash("admin_csrf", []byte("v1")), Catalog: catalog, ReviewSLA: cfg.ReviewSLA, RevealTTL: cfg.Admin.RevealTTL,
			Prices: prices, WebhookCIDRs: cfg.Webhook.AllowCIDRs, APIKeys: keys},
		Server: &handler.ServerAPI{Keys: keys, Verifications: flow, Events: hooks},
		TLS:    handler.TLSPolicy{Production: cfg.Production(), BehindTLSProxy: cfg.Admin.AllowHTTP},
		// Scrapers then reach the metrics on an internal address only.
		MetricsElsewhere: cfg.MetricsAddr != "",
	})
	if cfg.MetricsAddr != "" {
		if _, err := startMetrics(ctx, cfg.MetricsAddr, reg, log); err != nil {
			return err
		}
	}
	if cfg.PprofAddr != "" {
		if _, err := startPprof(ctx, cfg.PprofAddr, log); err != nil {
			return err
		}
	}
	return listenAndServe(ctx, cfg, log, engine)
}

// buildFlow assembles the verification flow: the OCR and name/ID chains in
// the configured order (a vendor only when its credentials are set; all of
// them, at the sandbox, in sandbox mode), the photo store and the policy.
func buildFlow(cfg config.Config, st *store.Store, blobs verify.Blobs, rdb *redisconn.Conn, ring *pii.KeyRing, tokens *token.Service,
	wechatBase, sandboxURL, appID string, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (*verify.Service, error) {
	if sandboxURL != "" {
		cfg.Apizero = config.Apizero{Key: sandbox.SandboxApizeroKey, BaseURL: sandboxURL + sandbox.ApizeroPrefix, QPS: cfg.Apizero.QPS}
		cfg.Apistore = config.Apistore{AppID: sandbox.SandboxApistoreAppID, Secret: sandbox.SandboxApistoreSecret, URL: sandboxURL + sandbox.ApistoreEndpoint, QPS: cfg.Apistore.QPS}
		cfg.Acedata = config.Acedata{Key: sandbox.SandboxAcedataKey, BaseURL: sandboxURL + "/acedata", QPS: cfg.Acedata.QPS}
	}
	orDefault := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	// One transport for the vendor clients, keeping more than Go's default
	// two idle connections per host: otherwise most calls under load pay a
	// new TCP and TLS handshake. The chain's per-call deadline rules; the
	// client timeout is a backstop.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	vendorClient := &http.Client{Timeout: 2 * cfg.ProviderTimeout, Transport: tr}
	var ocrs []ocr.Provider
	for _, name := range cfg.OCROrder {
		switch {
		case name == "wechat":
			p, err := wechat.NewOCR(wechatBase, vendorClient, appID, tokens)
			if err != nil {
				return nil, err
			}
			ocrs = append(ocrs, p)
		case name == "apizero" && cfg.Apizero.Key != "":
			ocrs = append(ocrs, ocr.NewApizero(orDefault(cfg.Apizero.BaseURL, ocr.ApizeroDefaultBase), cfg.Apizero.Key, vendorClient))
		case name == "apistore" && cfg.Apistore.AppID != "":
			ocrs = append(ocrs, ocr.NewApistore(cfg.Apistore.URL, cfg.Apistore.AppID, cfg.Apistore.Secret, vendorClient))
		case name == "acedata" && cfg.Acedata.Key != "":
			p, err := ocr.NewAcedata(cfg.Acedata.BaseURL, cfg.Acedata.Key, vendorClient)
			if err != nil {
				return nil, err
			}
			ocrs = append(ocrs, p)
		}
	}
	// Each vendor's QPS is per API key, so it is counted in Redis for all
	// instances together; a call whose turn is too far off moves on.
	qps := map[string]int{wechat.OCRName: cfg.WeChat.QPS, ocr.ApizeroName: cfg.Apizero.QPS, ocr.ApistoreName: cfg.Apistore.QPS, ocr.AcedataName: cfg.Acedata.QPS}
	for i, p := range ocrs {
		if n := qps[p.Name()]; n > 0 {
			ocrs[i] = ocr.Throttled(p, ratelimit.New(rdb.Client, rdb.Prefix+"ratelimit:{"+p.Name()+"}", n, cfg.RateLimitWait))
		}
	}
	var checks []idcheck.Provider
	for _, name := range cfg.IDCheckOrder {
		if name == "acedata" && cfg.Acedata.Key != "" {
			p, err := idcheck.NewAcedata(cfg.Acedata.BaseURL, cfg.Acedata.Key, vendorClient)
			if err != nil {
				return nil, err
			}
			checks = append(checks, p)
		}
	}
	if len(checks) == 0 {
		log.Warn("no name/ID check provider has credentials: every submission goes to manual review")
	}
	ocrChain := ocr.NewChain(ocrs, ocr.ChainOptions{Timeout: cfg.ProviderTimeout}, log, reg)
	cacheTTL := cfg.IDCheckCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1 // the chain's "no cache"
	}
	checkChain := idcheck.NewChain(checks, rdb.Client, rdb.Prefix, ring, idcheck.ChainOptions{Timeout: cfg.ProviderTimeout, CacheTTL: cacheTTL}, log, reg)
	log.Info("verification providers", "ocr", ocrChain.Providers(), "idcheck", checkChain.Providers())
	policy := verify.DefaultPolicy()
	policy.AttemptsPerDay, policy.UploadsPerDay, policy.MinAge = cfg.Policy.AttemptsPerDay, cfg.Policy.UploadsPerDay, cfg.Policy.MinAge
	policy.ChecksPerIDPerDay, policy.IDsPerAccountPerDay = cfg.Policy.ChecksPerIDPerDay, cfg.Policy.IDsPerAccountPerDay
	policy.GuardianUnder, policy.EchoReading = cfg.Policy.GuardianUnder, cfg.EchoReading
	policy.RequireBack, policy.AccountsPerID, policy.RefuseExpired = cfg.Policy.RequireBack, cfg.Policy.AccountsPerID, cfg.Policy.RefuseExpired
	policy.AllowCheck, policy.IdleExpiry, policy.StuckChecking = cfg.Policy.AllowCheck, cfg.Policy.IdleExpiry, cfg.Policy.StuckChecking
	policy.ConsentVersion, policy.PhotoRetention = cfg.ConsentVersion, cfg.PhotoRetention
	policy.Face, policy.FaceConsentVersion = cfg.Face, cfg.FaceConsentVersion
	faceOn := cfg.Face != verify.FaceOff
	for _, app := range cfg.WeChat.Apps {
		if app.Face != "" {
			if policy.FaceByApp == nil {
				policy.FaceByApp = map[string]string{}
			}
			policy.FaceByApp[app.AppID] = app.Face
			faceOn = faceOn || app.Face != verify.FaceOff
		}
	}
	budget := ocr.NewBudget(cfg.ImageMemory, cfg.ImageWait)
	if err := budget.Register(reg); err != nil {
		return nil, err
	}
	intake := ocr.NewIntake(ocr.IntakeLimits{}, budget)
	flow := verify.New(st, rdb.Client, rdb.Prefix, ocrChain, intake, checkChain, ring, blobs, policy, clk, log)
	if faceOn {
		f, err := wechat.NewFace(wechatBase, vendorClient, tokens)
		if err != nil {
			return nil, err
		}
		stepUps := verify.StepUpCounter()
		reg.MustRegister(stepUps)
		flow.WithFace(face.NewMetered(wechat.NewFaceProvider(f, clk), reg)).WithStepUpCounter(stepUps)
		log.Info("face verification on", "mode", cfg.Face, "by_app", policy.FaceByApp, "provider", wechat.FaceName)
	}
	return flow, nil
}

// webhookOptions turns the configuration into dispatcher options.
func webhookOptions(cfg config.Config) (webhook.Options, error) {
	w := cfg.Webhook
	schedule, err := webhook.ParseSchedule(w.Schedule)
	if err != nil {
		return webhook.Options{}, err
	}
	cidrs, err := webhook.ParseCIDRs(w.AllowCIDRs)
	if err != nil {
		return webhook.Options{}, err
	}
	disable := w.DisableAfter
	if disable == 0 {
		disable = -1 // configuration's "never"; the service's zero means its default
	}
	retention := w.Retention
	if retention == 0 {
		retention = -1 // configuration's "forever"
	}
	return webhook.Options{Schedule: schedule, Timeout: w.Timeout, Lease: w.Lease, Workers: w.Workers, BatchSize: w.BatchSize,
		PollInterval: w.PollInterval, DisableAfter: disable, RotationGrace: w.RotationGrace, Retention: retention,
		AllowCIDRs: cidrs, PrivateNetworks: cfg.WebhookPrivateNetworks()}, nil
}

// buildWebhooks makes the webhook service and brings the configured
// endpoint in line with the configuration, before the dispatcher runs.
func buildWebhooks(ctx context.Context, cfg config.Config, db *gorm.DB, ring *pii.KeyRing, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (*webhook.Service, error) {
	opts, err := webhookOptions(cfg)
	opts.Clock = clk
	if err != nil {
		return nil, err
	}
	hooks, err := webhook.New(db, ring, log, reg, opts)
	if err != nil {
		return nil, err
	}
	err = hooks.EnsureConfigured(ctx, webhook.EndpointSpec{URL: cfg.Webhook.URL, Secret: cfg.Webhook.Secret, EventTypes: cfg.Webhook.EventTypes})
	if err != nil {
		return nil, fmt.Errorf("REALNAME_WEBHOOK_URL: %w", err)
	}
	return hooks, nil
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

// listenAndServe serves until ctx ends, then lets in-flight requests finish
// within the shutdown timeout.
func listenAndServe(ctx context.Context, cfg config.Config, log *slog.Logger, h http.Handler) error {
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 30*time.Second, // slow mobile uploads
		WriteTimeout:      cfg.RequestTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(_ net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "listen", cfg.HTTPAddr)
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
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

// pruneKeyUses deletes the records of API key uses past their retention,
// hourly; every instance may run it (the deletes are idempotent).
func pruneKeyUses(ctx context.Context, keys *apikey.Service, keep time.Duration, clk clock.Clock, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := keys.Prune(ctx, clk.Now().Add(-keep)); err != nil && ctx.Err() == nil {
			log.Warn("pruning API key uses failed", "err", err)
		} else if n > 0 {
			log.Info("pruned API key uses", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
