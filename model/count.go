package model

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"

	"gorm.io/gorm"
)

// Counts are the statements this process sent to the database and the
// commits it made: every COMMIT of a transaction, and every write sent
// outside one (it commits on its own; a lone SELECT writes nothing and is
// not a commit). They are a request's database cost, measured the same way
// on SQLite, PostgreSQL and MySQL, whose own counters differ or do not
// exist.
type Counts struct {
	Statements, Commits int64
}

// counter is the connection pool gorm talks to: the *sql.DB, counted.
type counter struct {
	db                  *sql.DB
	statements, commits atomic.Int64
}

// count puts a counting pool between db and its *sql.DB.
func count(db *gorm.DB, sqlDB *sql.DB) {
	c := &counter{db: sqlDB}
	db.ConnPool = c
	db.Statement.ConnPool = c
}

// StatementCounts reads db's counts; zero when db was not opened by Open.
func StatementCounts(db *gorm.DB) Counts {
	c, ok := db.ConnPool.(*counter)
	if !ok {
		return Counts{}
	}
	return Counts{Statements: c.statements.Load(), Commits: c.commits.Load()}
}

// GetDBConn lets gorm's DB() find the pool.
func (c *counter) GetDBConn() (*sql.DB, error) { return c.db, nil }

// autocommit counts a statement sent outside a transaction.
func (c *counter) autocommit(query string) {
	c.statements.Add(1)
	if !isSelect(query) {
		c.commits.Add(1)
	}
}

// isSelect reports whether query is a plain read.
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

func (c *counter) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, query)
}

func (c *counter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.autocommit(query)
	return c.db.ExecContext(ctx, query, args...)
}

func (c *counter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.autocommit(query)
	return c.db.QueryContext(ctx, query, args...)
}

func (c *counter) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.autocommit(query)
	return c.db.QueryRowContext(ctx, query, args...)
}

// BeginTx starts a counted transaction (gorm.ConnPoolBeginner).
func (c *counter) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, c: c}, nil
}

// countedTx is a transaction whose statements and commit are counted.
type countedTx struct {
	*sql.Tx
	c *counter
}

func (t *countedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.c.statements.Add(1)
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *countedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.c.statements.Add(1)
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *countedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.c.statements.Add(1)
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// Commit commits and counts it.
func (t *countedTx) Commit() error {
	err := t.Tx.Commit()
	if err == nil {
		t.c.commits.Add(1)
	}
	return err
}
