// Package modeltest gives store tests a migrated, private database on every
// backend the environment offers: SQLite always, PostgreSQL when
// REALNAME_TEST_POSTGRES is set, MariaDB/MySQL when REALNAME_TEST_MYSQL is set.
package modeltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
)

// Backend is one database the store suites run against.
type Backend struct {
	Name string // sqlite, postgres, mysql
	DSN  string // server DSN from the environment; empty for sqlite
}

// Backends lists the databases configured for this test run.
func Backends() []Backend {
	out := []Backend{{Name: model.DialectSQLite}}
	if dsn := os.Getenv("REALNAME_TEST_POSTGRES"); dsn != "" {
		out = append(out, Backend{Name: model.DialectPostgres, DSN: dsn})
	}
	if dsn := os.Getenv("REALNAME_TEST_MYSQL"); dsn != "" {
		out = append(out, Backend{Name: model.DialectMySQL, DSN: dsn})
	}
	return out
}

// Each runs fn as a subtest per backend, each with its own migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b, true))
		})
	}
}

// Open is OpenDSN without the URL.
func Open(t *testing.T, b Backend, migrate bool) *gorm.DB {
	t.Helper()
	db, _ := OpenDSN(t, b, migrate)
	return db
}

// OpenDSN creates a private database (a schema on PostgreSQL, a database on
// MySQL, a file on SQLite) that is dropped when the test ends, so packages
// testing in parallel never see each other's rows. migrate applies the schema.
// It also returns the database's URL, for code that opens its own connection.
func OpenDSN(t *testing.T, b Backend, migrate bool) (*gorm.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	name := "t_" + randomHex(6)
	var dsn string
	switch b.Name {
	case model.DialectSQLite:
		dsn = "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	case model.DialectPostgres:
		admin := mustOpen(t, ctx, b.DSN, log)
		exec(t, admin, "CREATE SCHEMA "+name)
		t.Cleanup(func() { exec(t, admin, "DROP SCHEMA "+name+" CASCADE"); _ = model.Close(admin) })
		dsn = withQuery(t, b.DSN, "search_path", name)
	case model.DialectMySQL:
		admin := mustOpen(t, ctx, b.DSN, log)
		exec(t, admin, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
		t.Cleanup(func() { exec(t, admin, "DROP DATABASE "+name); _ = model.Close(admin) })
		u, err := url.Parse(b.DSN)
		if err != nil {
			t.Fatalf("REALNAME_TEST_MYSQL: %v", err)
		}
		u.Path = "/" + name
		dsn = u.String()
	default:
		t.Fatalf("unknown backend %q", b.Name)
	}
	db := mustOpen(t, ctx, dsn, log)
	// Registered after the admin cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { _ = model.Close(db) })
	if migrate {
		if err := model.Migrate(ctx, db); err != nil {
			t.Fatalf("migrate %s: %v", b.Name, err)
		}
	}
	return db, dsn
}

func mustOpen(t *testing.T, ctx context.Context, dsn string, log *slog.Logger) *gorm.DB {
	t.Helper()
	db, err := model.Open(ctx, dsn, "", log, clock.System{}.Now)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	return db
}

func exec(t *testing.T, db *gorm.DB, stmt string) {
	t.Helper()
	if err := db.Exec(stmt).Error; err != nil {
		t.Errorf("%s: %v", stmt, err)
	}
}

func withQuery(t *testing.T, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("test DSN: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
