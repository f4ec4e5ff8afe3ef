package model

import (
	"context"
	"database/sql"
	"sync/atomic"

	"gorm.io/gorm"
)

// Counts are the statements this process sent to the database and the
// commits it made: every COMMIT of a transaction, and every write sent
// outside one (it commits on its own; a lone read writes nothing and is
// not a commit). They are a request's database cost, measured the same way
// on SQLite, PostgreSQL and MySQL, whose own counters differ or do not
// exist.
type Counts struct {
	Statements, Commits int64
}

// counter counts through gorm's callbacks (statements, which also works
// with prepared statements) and its own transactions (commits).
type counter struct {
	db                  *sql.DB
	statements, commits atomic.Int64
}

// count installs the counter on db.
func count(db *gorm.DB, sqlDB *sql.DB) error {
	c := &counter{db: sqlDB}
	db.ConnPool = &countingPool{ConnPool: db.ConnPool, c: c}
	db.Statement.ConnPool = db.ConnPool
	after := func(write bool) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			if tx.Statement.SQL.Len() == 0 || tx.DryRun {
				// Nothing was sent: an error came before the statement was
				// built, or gorm only rendered a subquery (a *gorm.DB passed
				// as a value) into the statement that carries it.
				return
			}
			c.statements.Add(1)
			if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); write && !inTx {
				c.commits.Add(1)
			}
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("realname:count", after(true)),
		cb.Update().After("gorm:update").Register("realname:count", after(true)),
		cb.Delete().After("gorm:delete").Register("realname:count", after(true)),
		cb.Raw().After("gorm:raw").Register("realname:count", after(true)),
		cb.Query().After("gorm:query").Register("realname:count", after(false)),
		cb.Row().After("gorm:row").Register("realname:count", after(false)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// StatementCounts reads db's counts; zero when db was not opened by Open.
func StatementCounts(db *gorm.DB) Counts {
	p, ok := db.ConnPool.(*countingPool)
	if !ok {
		return Counts{}
	}
	return Counts{Statements: p.c.statements.Load(), Commits: p.c.commits.Load()}
}

// countingPool is the pool gorm talks to: the driver's, with counted
// transactions.
type countingPool struct {
	gorm.ConnPool
	c *counter
}

// GetDBConn lets gorm's DB() find the *sql.DB.
func (p *countingPool) GetDBConn() (*sql.DB, error) { return p.c.db, nil }

// BeginTx starts a transaction whose commit is counted (gorm.ConnPoolBeginner).
func (p *countingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := p.c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countedTx{Tx: tx, c: p.c}, nil
}

// countedTx is a transaction whose commit is counted.
type countedTx struct {
	*sql.Tx
	c *counter
}

// Commit commits and counts it.
func (t *countedTx) Commit() error {
	err := t.Tx.Commit()
	if err == nil {
		t.c.commits.Add(1)
	}
	return err
}
