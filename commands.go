package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"gorm.io/gorm"

	"realname/config"
	"realname/model"
	"realname/service/admin"
	"realname/service/clock"
	"realname/service/keys"
	"realname/service/pii"
	"realname/service/redisconn"
	"realname/service/review"
	"realname/service/store"
	"realname/service/webhook"
)

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
	verifications := store.New(env.db, clock.System{}, env.log)
	blobs, err := openPhotos(env.ctx, env.cfg, env.db, verifications, ring, clock.System{})
	if err != nil {
		return err
	}
	st, err := keys.New(keys.Deps{DB: env.db, Store: verifications, Ring: ring, Blobs: blobs.blobs, Batch: *batch, Log: env.log}).Run(env.ctx)
	fmt.Fprintf(stdout, "re-encrypted: users=%d verifications=%d attempts=%d notes=%d photos=%d webhook_secrets=%d; bindings rehashed=%d\n",
		st.Users, st.Verifications, st.Attempts, st.Texts, st.Blobs, st.WebhookSecrets, st.Bindings)
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
	db, err := model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log, clock.System{}.Now)
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
		if db, err = model.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log, clock.System{}.Now); err != nil {
			return nil, err
		}
		opts, err := webhookOptions(cfg)
		if err != nil {
			return nil, err
		}
		return webhook.New(db, ring, log, nil, opts)
	})
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

// warnIfRedisForgets says at start when the configured Redis keeps
// nothing across a restart: the daily and per-number limits and every
// session would reset with it.
func warnIfRedisForgets(ctx context.Context, rdb *redisconn.Conn, log *slog.Logger) {
	if rdb.Kind == "in-process" {
		return // already announced as not for production
	}
	p, err := rdb.Persistence(ctx)
	switch {
	case err != nil:
		log.Warn("could not read how Redis persists", "err", err)
	case !p.Known && !p.AOF:
		log.Warn("Redis would not say whether it snapshots, and append-only persistence is off: if it restarts empty, daily limits, per-number limits and sessions reset; turn on appendonly (AOF)")
	case !p.Persists():
		log.Warn("Redis does not persist (no AOF, no snapshots): a restart empties it, resetting daily limits, per-number limits and every session; turn on appendonly (AOF) for production")
	case !p.AOF:
		log.Info("Redis persists by snapshots only: a restart loses what changed since the last one; AOF is recommended")
	}
}
