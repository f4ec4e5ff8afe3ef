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
	"realname/service/pii"
	"realname/service/redisconn"
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

func migrateCmd(args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr, true, "Applies pending migrations (the default), or inspects / undoes them.")
	status := fs.Bool("status", false, "list migrations and whether each has run")
	rollback := fs.Bool("rollback-last", false, "undo the most recent migration")
	to := fs.String("to", "", "apply migrations up to and including this id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer model.Close(db)
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
	if _, err := masterKeyRing(cfg, log); err != nil {
		return err
	}
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer closeLogged(log, "database", func() error { return model.Close(db) })
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
	var sandboxURL string
	if cfg.SandboxMode() {
		sb := sandbox.New(log.With("component", "sandbox"))
		if err := sb.Start(cfg.SandboxAddr); err != nil {
			return err
		}
		defer closeLogged(log, "sandbox", func() error { return sb.Close(context.Background()) })
		sandboxURL = sb.URL()
		log.Warn("sandbox mode: upstreams are in-process fakes, no real WeChat or vendor is called", "sandbox_url", sb.URL())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine := handler.New(handler.Deps{
		Log:      log,
		Registry: reg,
		Checks: map[string]handler.Check{
			"database": pingDB(db),
			"redis":    rdb.Ping,
		},
		Version:        version,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxUploadBytes: cfg.MaxUploadBytes,
		RequestTimeout: cfg.RequestTimeout,
		Templates:      templates,
		Static:         web.Static(),
		SandboxURL:     sandboxURL,
	})
	return listenAndServe(ctx, cfg, log, engine)
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
