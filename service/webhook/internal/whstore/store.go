// Package whstore is the one writer of the webhook tables: webhook_events,
// webhook_deliveries, webhook_attempts, webhook_endpoints and
// event_sequences. The webhook service decides (whom to send what, when to
// retry, which endpoint to disable); this store writes what it decided,
// with typed updates, and checks every change of a delivery's status
// against the one transition table (state.go).
//
// One exception, by design: the verification store (service/store) writes
// the outbox rows of webhook_events, and blanks their payloads on erasure,
// in its own transactions, so an event commits with the change it reports.
// Everything after that (fan-out, numbering, delivery, pruning) is here.
//
// It is internal to service/webhook: the compiler keeps every other
// package from reaching these writes.
package whstore

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// ErrNotFound means no endpoint or delivery has that id.
var ErrNotFound = errors.New("webhook: not found")

// Store reads and writes the webhook tables. It is safe for concurrent use.
type Store struct {
	db *gorm.DB
	// sqliteWrite queues this process's queue writers in Go: SQLite has
	// one writer at a time anyway, and its busy handler backs off in sleeps
	// of up to 100 ms, which would waste most of the time under contention.
	sqliteWrite sync.Mutex
}

// New returns the store of db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

// Tx is one transaction of the store: the writes (and locking reads) a
// service step combines. It is valid only inside the function given it.
type Tx struct {
	st *Store
	db *gorm.DB
}

// Stager is a wake-up staged inside the writing transaction and fired by
// its commit (a *wake.Line: pg_notify on PostgreSQL).
type Stager interface {
	Stage(tx *gorm.DB) error
}

// Stage stages s in this transaction.
func (tx *Tx) Stage(s Stager) error { return s.Stage(tx.db) }

// Tx runs fn in a plain transaction: the admin's changes, a ping, a replay.
func (st *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	return st.db.WithContext(ctx).Transaction(func(db *gorm.DB) error { return fn(&Tx{st: st, db: db}) })
}

// direct is a Tx outside any transaction: each statement commits alone.
func (st *Store) direct(ctx context.Context) *Tx { return &Tx{st: st, db: st.db.WithContext(ctx)} }

// gatedTx is Tx taking SQLite's writer turn first, for the writes the
// workers make while they drain (see writing).
func (st *Store) gatedTx(ctx context.Context, fn func(tx *Tx) error) error {
	defer st.writing()()
	return st.Tx(ctx, fn)
}

// Queue runs fn in a transaction suited to the queue tables: READ
// COMMITTED on MySQL/MariaDB, whose default REPEATABLE READ takes gap locks
// that would make concurrent claims and fan-outs block one another.
//
// A transaction the database aborted to break a deadlock is run again: fn
// must be repeatable (no effects outside the transaction but what it resets).
func (st *Store) Queue(ctx context.Context, fn func(tx *Tx) error) error {
	defer st.writing()()
	var opts []*sql.TxOptions
	if st.db.Name() == model.DialectMySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	var err error
	for try := 1; ; try++ {
		err = st.db.WithContext(ctx).Transaction(func(db *gorm.DB) error { return fn(&Tx{st: st, db: db}) }, opts...)
		if err == nil || try == 3 || !deadlocked(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(try*rand.IntN(20)) * time.Millisecond)
	}
}

// lease is Queue for the claims and results of deliveries, committed
// without waiting for the WAL flush on PostgreSQL. Losing such a commit in
// a database crash only sends a delivery again (its claim or result is
// undone, the lease runs out, the sweep requeues it), which at-least-once
// delivery allows; the fan-out keeps the flush, since feed numbers readers
// have seen must not be handed out again. Two flushes per batch were half
// a worker's wall time on a 600 µs fsync disk.
func (st *Store) lease(ctx context.Context, fn func(tx *Tx) error) error {
	return st.leaseWith(ctx, "SET LOCAL synchronous_commit = off", fn)
}

// claimTx is lease for a claim: on PostgreSQL, bitmap scans are off too
// (in the same statement), so the claim walks the (status,
// next_attempt_at) index in order and stops at its LIMIT. With them the
// planner ANDed that index with the endpoint's and sorted every due row,
// on every claim, and a bitmap scan never marks the dead index entries
// the drain leaves behind, so each claim read them all again: 8.4 ms
// against 1.7 ms for a claim of 50 with 9,500 due entries (EXPLAIN
// ANALYZE during a drain).
func (st *Store) claimTx(ctx context.Context, fn func(tx *Tx) error) error {
	return st.leaseWith(ctx, "SELECT set_config('synchronous_commit', 'off', true), set_config('enable_bitmapscan', 'off', true)", fn)
}

func (st *Store) leaseWith(ctx context.Context, settings string, fn func(tx *Tx) error) error {
	if st.db.Name() != model.DialectPostgres {
		return st.Queue(ctx, fn)
	}
	return st.Queue(ctx, func(tx *Tx) error {
		if err := tx.db.Exec(settings).Error; err != nil {
			return err
		}
		return fn(tx)
	})
}

// deadlocked reports a transaction the database rolled back to break a
// deadlock or a serialization conflict; running it again is the remedy.
func deadlocked(err error) bool {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205 // deadlock, lock wait timeout
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}

// writing takes the SQLite writer turn (a no-op elsewhere) and returns its
// release. The release leaves the database unlocked for a while before the
// next of our writers may go, half as long as the turn took: without that
// gap our writers would hand the lock to one another back to back, and the
// verification flow, which waits in SQLite's busy handler (it sleeps and
// retries, it does not queue), would starve behind a backlog. This costs
// about a third of the dispatcher's throughput on SQLite, and nothing on
// the server databases.
func (st *Store) writing() func() {
	if st.db.Name() != model.DialectSQLite {
		return func() {}
	}
	st.sqliteWrite.Lock()
	start := time.Now()
	return func() {
		time.Sleep(min(max(time.Since(start)/2, time.Millisecond), 50*time.Millisecond))
		st.sqliteWrite.Unlock()
	}
}

// skipLocked adds FOR UPDATE SKIP LOCKED where the database has it. SQLite
// has no row locks; its immediate transactions serialise writers, which is
// enough for the one process that may use it.
func (st *Store) skipLocked(q *gorm.DB) *gorm.DB {
	if st.db.Name() == model.DialectSQLite {
		return q
	}
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
}

// forUpdate locks the selected rows where the database has row locks.
func (st *Store) forUpdate(q *gorm.DB) *gorm.DB {
	if st.db.Name() == model.DialectSQLite {
		return q
	}
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}
