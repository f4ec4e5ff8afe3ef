// Command realname is the backend for the real-name (实名认证) flow of WeChat
// Mini Programs. main only wires: config → stores → services → router →
// workers → wait for a signal → graceful stop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gorm.io/gorm"

	"realname/config"
	"realname/handler"
	"realname/model"
	"realname/sandbox"
	"realname/service/admin"
	"realname/service/idcheck"
	"realname/service/idempotency"
	"realname/service/keys"
	"realname/service/login"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/redisconn"
	"realname/service/review"
	"realname/service/session"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/webhook"
	"realname/service/wechat"
	"realname/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	// gin's mode is process-global; set it once here, before any engine.
	gin.SetMode(gin.ReleaseMode)
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args, environ, stdout, stderr)
	case "migrate":
		err = migrateCmd(args, environ, stdout, stderr)
	case "webhooks":
		err = webhooksCmd(args, environ, stdout, stderr)
	case "keys":
		err = keysCmd(args, environ, stdout, stderr)
	case "admin":
		err = adminCmd(args, environ, os.Stdin, stdout, stderr)
	case "audit":
		err = auditCmd(args, environ, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "realname %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "realname: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "realname:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: realname [command] [flags]

Commands:
  serve     run the HTTP service (the default)
  migrate   apply or inspect database migrations
  webhooks  replay deliveries (--delivery ID | --endpoint ID --since RFC3339), or print a new signing secret
  keys      generate a personal-data key, or rotate: re-encrypt everything with the primary key
  admin     create a staff account for the admin pages (password on standard input)
  audit     verify the audit trail's hash chains
  version   print the version
  help      show this text

Run "realname <command> --help" for a command's flags.
`)
}

// configHelp lists every variable with its default; secrets show no value.
func configHelp(w io.Writer) {
	fmt.Fprintln(w, "\nConfiguration (environment; REALNAME_CONFIG may name a YAML file, env wins; secrets also accept <NAME>_FILE):")
	for _, f := range config.Fields() {
		def := f.Default
		if f.Secret {
			def = "(secret)"
		} else if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-30s %s\n  %-30s   default %s; yaml %s\n", f.Key, f.Help, "", def, f.YAML)
	}
}

func newFlags(name string, stderr io.Writer, withConfig bool, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: realname %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
		if withConfig {
			configHelp(fs.Output())
		}
	}
	return fs
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	// Every log line passes the redactor: ID numbers, names and phone
	// numbers are masked wherever they appear.
	return slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})))
}

func loadConfig(environ []string) (config.Config, error) {
	cfg, err := config.Load(environ)
	if err != nil {
		return cfg, err
	}
	return cfg, nil
}

// keysCmd is "keys generate" (print a new key ring entry) and "keys
// rotate" (re-encrypt every sealed column and photo with the primary key and
// recompute lookup hashes, in batches, safe beside running instances).
func keysCmd(args, environ []string, stdout, stderr io.Writer) error {
	sub, args := subcommand(args)
	fs := newFlags("keys "+sub, stderr, sub == "rotate", `Subcommands:
  generate   print a fresh key entry; put it first in REALNAME_MASTER_KEY to rotate
  rotate     re-encrypt all personal data with the primary (first) key`)
	batch := fs.Int("batch", 500, "rows per transaction (rotate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch sub {
	case "generate":
		spec, err := pii.GenerateKeySpec()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, spec)
		return nil
	case "rotate":
	default:
		fs.Usage()
		return fmt.Errorf("keys: want generate or rotate")
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	ring, err := masterKeyRing(env.cfg, env.log)
	if err != nil {
		return err
	}
	blobs, err := pii.NewFileBlobs(filepath.Join(env.cfg.DataDir, "blobs"), ring)
	if err != nil {
		return err
	}
	st, err := keys.New(env.db, ring, blobs, *batch, env.log).Run(env.ctx)
	fmt.Fprintf(stdout, "re-encrypted: users=%d verifications=%d attempts=%d photos=%d webhook_secrets=%d; bindings rehashed=%d\n",
		st.Users, st.Verifications, st.Attempts, st.Blobs, st.WebhookSecrets, st.Bindings)
	return err
}

// cmdEnv is what a one-shot subcommand needs: its config, logger, a
// context cancelled by Ctrl-C or SIGTERM, and the database.
type cmdEnv struct {
	cfg  config.Config
	log  *slog.Logger
	ctx  context.Context
	db   *gorm.DB
	stop context.CancelFunc
}

// openCmdEnv loads the config and opens the database for a subcommand.
func openCmdEnv(environ []string, stderr io.Writer) (*cmdEnv, error) {
	cfg, err := loadConfig(environ)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg.LogLevel, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		stop()
		return nil, err
	}
	return &cmdEnv{cfg: cfg, log: log, ctx: ctx, db: db, stop: stop}, nil
}

// Close closes the database and releases the signal handler.
func (e *cmdEnv) Close() {
	closeLogged(e.log, "database", func() error { return model.Close(e.db) })
	e.stop()
}

// subcommand splits "verb --flags…" into the verb and the rest.
func subcommand(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func migrateCmd(args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr, true, "Applies pending migrations (the default), or inspects / undoes them.")
	status := fs.Bool("status", false, "list migrations and whether each has run")
	rollback := fs.Bool("rollback-last", false, "undo the most recent migration")
	to := fs.String("to", "", "apply migrations up to and including this id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	ctx, db := env.ctx, env.db
	switch {
	case *status:
		states, err := model.MigrationStatus(ctx, db)
		if err != nil {
			return err
		}
		for _, s := range states {
			mark := "pending"
			if s.Applied {
				mark = "applied"
			}
			fmt.Fprintf(stdout, "%-8s %s\n", mark, s.ID)
		}
		return nil
	case *rollback:
		return model.RollbackLast(ctx, db)
	case *to != "":
		return model.MigrateTo(ctx, db, *to)
	}
	if err := model.Migrate(ctx, db); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

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
	return serve(ctx, cfg, log)
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	ring, err := masterKeyRing(cfg, log)
	if err != nil {
		return err
	}
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log)
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

	templates, err := web.Templates()
	if err != nil {
		return err
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
	wechat.RedirectSDK(apiBase)
	tokenApps := make([]token.App, len(apps))
	wxApps := make([]wechat.App, len(apps))
	for i, a := range apps {
		tokenApps[i] = token.App{AppID: a.AppID, Secret: a.Secret}
		wxApps[i] = wechat.App{AppID: a.AppID, Secret: a.Secret}
	}
	tokens := token.New(rdb.Client, rdb.Prefix, tokenApps, token.NewWeChatFetcher(apiBase, cfg.WeChat.TokenMode), log, reg, token.Options{})
	sessions := session.NewStore(rdb.Client, rdb.Prefix, cfg.SessionTTL)
	logins := login.New(db, wechat.NewClient(wxApps, tokens), sessions, ring, apps[0].AppID)
	flow, err := buildFlow(cfg, db, rdb, ring, tokens, apiBase, sandboxURL, apps[0].AppID, log, reg)
	if err != nil {
		return err
	}
	hooks, err := buildWebhooks(ctx, cfg, db, ring, log, reg)
	if err != nil {
		return err
	}
	hooksCtx, stopHooks := context.WithCancel(ctx)
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); hooks.Run(hooksCtx) }()
	// Stop the dispatcher (it finishes its in-flight POSTs) before the database closes.
	defer func() { stopHooks(); <-hooksDone }()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); flow.RunSweeper(sweepCtx, cfg.SweepInterval) }()
	// Stop the sweeper before the stores close (defers run last-in first-out).
	defer func() { stopSweep(); <-sweepDone }()
	accounts, err := admin.New(db, rdb.Client, rdb.Prefix, admin.Options{SessionTTL: cfg.Admin.SessionTTL,
		MaxFailures: cfg.Admin.MaxFailures, LockFor: cfg.Admin.LockFor}, log)
	if err != nil {
		return err
	}
	photos, err := pii.NewFileBlobs(filepath.Join(cfg.DataDir, "blobs"), ring)
	if err != nil {
		return err
	}
	reviews := review.New(db, ring, photos, flow, review.Options{ClaimTTL: cfg.Admin.ClaimTTL}, log)
	engine := handler.New(handler.Deps{
		Log:      log,
		Registry: reg,
		Checks: map[string]handler.Check{
			"database": pingDB(db),
			"redis":    rdb.Ping,
		},
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
		Idempotency:       idempotency.NewStore(rdb.Client, rdb.Prefix, 24*time.Hour, 2*time.Minute),
		Tokens:            tokens,
		TokenServerSecret: cfg.WeChat.TokenServerSecret,
		DefaultAppID:      apps[0].AppID,
		ConsentVersion:    cfg.ConsentVersion,
		TrustedProxies:    cfg.TrustedProxies,
		// The CSRF key is derived from the key ring: the same on every
		// instance, and never the key itself.
		Admin: &handler.AdminDeps{Accounts: accounts, Review: reviews, Tokens: tokens, Webhooks: handler.NewWebhookAdmin(hooks),
			CSRFKey: ring.Hash("admin_csrf", []byte("v1"))},
	})
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
func buildFlow(cfg config.Config, db *gorm.DB, rdb *redisconn.Conn, ring *pii.KeyRing, tokens *token.Service,
	wechatBase, sandboxURL, appID string, log *slog.Logger, reg prometheus.Registerer) (*verify.Service, error) {
	if sandboxURL != "" {
		cfg.Apizero = config.Apizero{Key: sandbox.SandboxApizeroKey, BaseURL: sandboxURL + sandbox.ApizeroPrefix}
		cfg.Apistore = config.Apistore{AppID: sandbox.SandboxApistoreAppID, Secret: sandbox.SandboxApistoreSecret, URL: sandboxURL + sandbox.ApistoreEndpoint}
		cfg.Acedata = config.Acedata{Key: sandbox.SandboxAcedataKey, BaseURL: sandboxURL + "/acedata"}
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
	blobs, err := pii.NewFileBlobs(filepath.Join(cfg.DataDir, "blobs"), ring)
	if err != nil {
		return nil, err
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
	policy.RequireBack, policy.AccountsPerID, policy.RefuseExpired = cfg.Policy.RequireBack, cfg.Policy.AccountsPerID, cfg.Policy.RefuseExpired
	policy.AllowCheck, policy.IdleExpiry, policy.StuckChecking = cfg.Policy.AllowCheck, cfg.Policy.IdleExpiry, cfg.Policy.StuckChecking
	policy.ConsentVersion, policy.PhotoRetention = cfg.ConsentVersion, cfg.PhotoRetention
	return verify.New(db, rdb.Client, rdb.Prefix, ocrChain, checkChain, ring, blobs, policy, log), nil
}

// webhookOptions turns the configuration into dispatcher options.
func webhookOptions(w config.Webhook) (webhook.Options, error) {
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
		AllowPrivate: w.AllowPrivate, AllowCIDRs: cidrs}, nil
}

// buildWebhooks makes the webhook service and brings the configured
// endpoint in line with the configuration, before the dispatcher runs.
func buildWebhooks(ctx context.Context, cfg config.Config, db *gorm.DB, ring *pii.KeyRing, log *slog.Logger, reg prometheus.Registerer) (*webhook.Service, error) {
	opts, err := webhookOptions(cfg.Webhook)
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

// webhooksCmd is "webhooks replay" and "webhooks secret". Replay only
// queues; the running servers send.
func webhooksCmd(args, environ []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var db *gorm.DB
	defer func() {
		if db != nil {
			_ = model.Close(db)
		}
	}()
	return webhook.Command(ctx, args, stdout, stderr, func(ctx context.Context) (*webhook.Service, error) {
		cfg, err := loadConfig(environ)
		if err != nil {
			return nil, err
		}
		log := newLogger(cfg.LogLevel, stderr)
		ring, err := masterKeyRing(cfg, log)
		if err != nil {
			return nil, err
		}
		if db, err = model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log); err != nil {
			return nil, err
		}
		opts, err := webhookOptions(cfg.Webhook)
		if err != nil {
			return nil, err
		}
		return webhook.New(db, ring, log, nil, opts)
	})
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

// adminCmd is "admin create --username NAME --role reviewer|admin". The
// password is read from standard input (its first line), never from a flag,
// so it stays out of shell history and process lists.
func adminCmd(args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	sub, args := subcommand(args)
	fs := newFlags("admin "+sub, stderr, false, `Subcommands:
  create   add a staff account for the admin pages; the password is the first line of standard input:
           printf '%s\n' "$PASSWORD" | realname admin create --username ann --role reviewer`)
	username := fs.String("username", "", "the account's username (3-64 letters, digits, '.', '_', '-')")
	role := fs.String("role", admin.RoleReviewer, "reviewer (decides cases) or admin (also accounts, webhooks, audit log)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub != "create" {
		fs.Usage()
		return fmt.Errorf("admin: want create")
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	if err := model.Migrate(env.ctx, env.db); err != nil {
		return err
	}
	u, err := admin.CreateFromCLI(env.ctx, env.db, *username, *role, stdin, admin.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s account %q (id %d)\n", u.Role, u.Username, u.ID)
	return nil
}

// auditCmd is "audit verify": it walks every hash chain of the audit trail
// and fails at the first entry whose hash or link does not hold.
func auditCmd(args, environ []string, stdout, stderr io.Writer) error {
	sub, args := subcommand(args)
	fs := newFlags("audit "+sub, stderr, false, `Subcommands:
  verify   check the audit trail's hash chains; exits 1 naming the first broken entry`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub != "verify" {
		fs.Usage()
		return fmt.Errorf("audit: want verify")
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	rep, err := review.VerifyChain(env.ctx, env.db)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked %d events in %d chains\n", rep.Events, rep.Chains)
	if rep.Broken != nil {
		return fmt.Errorf("audit trail broken: %s", rep.Broken)
	}
	fmt.Fprintln(stdout, "audit trail intact")
	return nil
}
