package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names as reported by gorm's Dialector.Name.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
	DialectMySQL    = "mysql"
)

// DefaultMaxConns is each instance's connection limit on PostgreSQL and
// MySQL unless configured: small enough that several instances stay under
// a default server's max_connections of 100.
const DefaultMaxConns = 20

// SetPool caps the pool at n connections and keeps them all idle between
// bursts: closing idle ones only to reopen them costs the server a backend
// start per request (measured as most of PostgreSQL's time under load).
func SetPool(sqlDB interface {
	SetMaxOpenConns(int)
	SetMaxIdleConns(int)
	SetConnMaxIdleTime(time.Duration)
}, n int) {
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
}

// Open connects to the database named by dsn: empty means the SQLite file
// realname.db in dataDir; otherwise a postgres://, mysql:// or sqlite:// URL.
// It pings before returning so a wrong DSN fails at start, not at first use.
// now is the process's one clock (clock.Clock.Now): gorm stamps created_at
// and updated_at with it, so they agree with every time the services write.
func Open(ctx context.Context, dsn, dataDir string, log *slog.Logger, now func() time.Time) (*gorm.DB, error) {
	dialector, err := dialectorFor(dsn, dataDir)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		// The caller's clock reads UTC in milliseconds (MySQL's DATETIME(3)),
		// so the three databases agree on every value they hand back.
		NowFunc:        now,
		TranslateError: true,
		// Our models have no associations, so a single Create, Update or
		// Delete is one statement and atomic on its own; gorm's default
		// BEGIN/COMMIT around it only adds two round trips. Work of several
		// statements opens its transaction explicitly.
		SkipDefaultTransaction: true,
		Logger:                 newGormLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("model: open %s: %w", dialectorName(dsn), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if err := count(db, sqlDB); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if db.Name() == DialectSQLite {
		// One writer at a time is all SQLite allows; a small pool with a busy
		// timeout queues writers instead of failing them with SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(4)
		// Every connection kept: reopening one parses the schema and maps
		// its memory again, and loses its prepared statements.
		sqlDB.SetMaxIdleConns(4)
	} else {
		SetPool(sqlDB, DefaultMaxConns)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("model: connect to %s: %w", db.Name(), err)
	}
	return db, nil
}

// Close releases the connection pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func dialectorName(dsn string) string {
	if dsn == "" {
		return DialectSQLite
	}
	scheme, _, _ := strings.Cut(dsn, "://")
	return scheme
}

func dialectorFor(dsn, dataDir string) (gorm.Dialector, error) {
	if dsn == "" {
		return sqliteDialector(filepath.Join(dataDir, "realname.db"))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("model: database URL does not parse") // the URL may hold a password: do not echo it
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return postgres.Open(dsn), nil
	case "mysql":
		return mysql.Open(mysqlDSN(u)), nil
	case "sqlite":
		return sqliteDialector(u.Host + u.Path)
	}
	return nil, fmt.Errorf("model: unsupported database scheme %q", u.Scheme)
}

func sqliteDialector(path string) (gorm.Dialector, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("model: create %s: %w", dir, err)
		}
	}
	// The file holds personal data (sealed, but also openids and states):
	// owner-only, not the 0644 SQLite would create it with. Its -wal and
	// -shm files take the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("model: create %s: %w", path, err)
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("model: chmod %s: %w", path, err)
	}
	// WAL lets readers run beside the writer; IMMEDIATE transactions take the
	// write lock up front so two read-then-write transactions cannot deadlock.
	// secure_delete zeroes what a delete or an erasure frees, so wiped
	// values do not linger in the file's free pages.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "secure_delete(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return sqlite.Open("file:" + path + "?" + q.Encode()), nil
}

// mysqlDSN turns mysql://user:pass@host:port/db?params into the driver's own
// DSN form, forcing the settings our models rely on.
func mysqlDSN(u *url.URL) string {
	cfg := mysqldriver.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.Params = map[string]string{}
	for k, v := range u.Query() {
		cfg.Params[k] = v[0]
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Params["charset"] = "utf8mb4"
	cfg.Collation = "utf8mb4_unicode_ci"
	return cfg.FormatDSN()
}

// newGormLogger routes gorm's own messages (slow queries, errors) into slog
// at warn level, without the SQL parameters, which may hold personal data.
func newGormLogger(log *slog.Logger) logger.Interface {
	const slow = 500 * time.Millisecond
	return quietTrace{logger.NewSlogLogger(log.With("component", "gorm"), logger.Config{
		SlowThreshold:             slow,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	}), slow}
}

// quietTrace skips gorm's trace of a statement that will not be logged.
// gorm's slog logger renders every statement's SQL (a regexp pass over it,
// through the dialect's Explain) before deciding not to log it: 15% of the
// webhook drain's CPU, measured with the profile, spent on lines nobody reads.
type quietTrace struct {
	logger.Interface
	slow time.Duration
}

// LogMode keeps the wrapper around the logger at the new level, except at
// Info (gorm's Debug()), where every statement is wanted.
func (q quietTrace) LogMode(level logger.LogLevel) logger.Interface {
	if level >= logger.Info {
		return q.Interface.LogMode(level)
	}
	return quietTrace{q.Interface.LogMode(level), q.slow}
}

// Trace hands only errors and slow statements on; the rest are dropped
// before their SQL is built.
func (q quietTrace) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if (err == nil || errors.Is(err, gorm.ErrRecordNotFound)) && time.Since(begin) <= q.slow {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}
