// Package store is the one writer of the verification aggregate: the
// verification row, its audit events (a hash chain whose head lives on the
// row), provider attempts, ID bindings, review claims, consents and the
// webhook outbox rows. The flow (service/verify) and the staff actions
// (service/review) decide; this package writes what they decided, each
// step in one transaction with one locked read of the verification and one
// versioned write, and retries deadlocks so no caller ever sees one.
//
// It also writes the users table (logins, erasure, key rotation) and the
// audit actions about no case (AppendAction), and hands out no connection:
// another table's owner joins a transaction of the store through Joined.
//
// A caller that must combine steps runs them inside InTx: the transaction
// travels in the context, and every method called with that context joins it.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
	"realname/service/clock"
)

// Errors callers map to answers.
var (
	ErrNotFound     = errors.New("store: no such verification")
	ErrInvalidState = errors.New("store: not allowed in the verification's current state")
	ErrErased       = errors.New("store: the verification's personal data was erased")
	ErrSlotTaken    = errors.New("store: the ID binding slot was taken by another account")
)

// Store writes the verification aggregate.
type Store struct {
	db      *gorm.DB
	clk     clock.Clock
	log     *slog.Logger
	retries int
	backoff time.Duration
	signal  OutboxSignal // nil: the dispatchers find new events by polling
	// transitions counts committed state changes; nil: not counted.
	transitions *prometheus.CounterVec
	tracer      trace.Tracer // nil: steps are not traced (TraceWith)
}

// OutboxSignal is told about every transaction that wrote webhook outbox
// rows, so the dispatchers wake at once instead of at their next poll (a
// *wake.Line). Stage runs inside the transaction (PostgreSQL's NOTIFY is
// delivered at commit), Committed after the commit; a lost signal only
// delays the events until the next poll.
type OutboxSignal interface {
	Stage(tx *gorm.DB) error
	Committed()
}

// SignalOutbox makes the store tell sig about outbox rows it commits, and
// returns the store. Call it before the store is shared.
func (s *Store) SignalOutbox(sig OutboxSignal) *Store {
	s.signal = sig
	return s
}

// New builds the store over db. clk is the process's one clock; db should
// stamp times with the same one (model.Open's now).
func New(db *gorm.DB, clk clock.Clock, log *slog.Logger) *Store {
	return &Store{db: db, clk: clk, log: log.With("component", "store"), retries: 8, backoff: 5 * time.Millisecond}
}

// Now reads the store's clock.
func (s *Store) Now() time.Time { return s.clk.Now() }

type txKey struct{}

// txState is what one transaction knows of the rows it works on: the
// verifications it locked or created (their current values, so a second
// step on the same row in the same transaction needs no second read) and
// the events of a verification created in it, written with that row's
// next change (or at commit), so opening a verification costs no extra
// UPDATE of its chain head.
type txState struct {
	db      *gorm.DB
	rows    map[int64]model.Verification
	pending map[int64][]model.VerificationEvent
	users   map[int64]identity // read with a lock, for the outbox rows
	// seen marks rows in rows that came from a Snapshot, read before the
	// transaction: their write is fenced by version and chain head.
	seen     map[int64]bool
	mustLock map[int64]bool // snapshots that went stale in an earlier attempt
	outbox   bool           // webhook events were written: signal them
	after    []func()       // run once the transaction has committed
	moved    []transition   // state changes written, counted once committed
}

// flush writes the pending events and the chain heads they leave.
func (t *txState) flush() error {
	for vid, events := range t.pending {
		if err := t.db.Create(&events).Error; err != nil {
			return fmt.Errorf("store: append event: %w", err)
		}
		head := events[len(events)-1].Hash
		if err := t.db.Model(&model.Verification{}).Where("id = ?", vid).UpdateColumn("chain_head", head).Error; err != nil {
			return fmt.Errorf("store: chain head: %w", err)
		}
		delete(t.pending, vid)
	}
	return nil
}

// state is ctx's transaction state, or nil outside InTx.
func state(ctx context.Context) *txState {
	t, _ := ctx.Value(txKey{}).(*txState)
	return t
}

// InTx runs fn in one transaction, carried in the context fn receives.
// Called with a context that already carries one, fn joins it (the outer
// InTx retries). A deadlock or serialization failure rolls back and runs
// fn again, up to a bound, with jittered backoff: fn must derive all it
// writes from what it reads inside.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if state(ctx) != nil {
		return fn(ctx)
	}
	wait := s.backoff
	mustLock := map[int64]bool{} // snapshots found stale: read under the lock from now on
	for attempt := 0; ; attempt++ {
		countAttempt(ctx)
		wrote := false
		var t *txState
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			t = &txState{db: tx, rows: map[int64]model.Verification{}, pending: map[int64][]model.VerificationEvent{},
				users: map[int64]identity{}, seen: map[int64]bool{}, mustLock: mustLock}
			if err := fn(context.WithValue(ctx, txKey{}, t)); err != nil {
				return err
			}
			if err := t.flush(); err != nil {
				return err
			}
			if wrote = t.outbox && s.signal != nil; wrote {
				if err := s.signal.Stage(tx); err != nil {
					return fmt.Errorf("store: signal outbox: %w", err)
				}
			}
			return nil
		})
		if err == nil && wrote {
			s.signal.Committed()
		}
		if err == nil {
			s.countCommitted(t.moved)
			for _, f := range t.after {
				f()
			}
		}
		if err == nil || !Retryable(err) || attempt >= s.retries || ctx.Err() != nil {
			return err
		}
		if errors.Is(err, errStale) {
			continue // no conflict to wait out: the next attempt reads under the lock
		}
		s.log.Debug("retrying a transaction after a lock conflict", "attempt", attempt+1, "err", err)
		sleep := wait/2 + rand.N(wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(sleep):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// afterCommit runs fn once the transaction ctx carries has committed; not
// if it rolls back, nor for an attempt that is retried. Outside a
// transaction fn runs at once. fn's context carries no transaction (the
// one it followed is over) and is not cancelled with ctx.
func afterCommit(ctx context.Context, fn func(ctx context.Context)) {
	after := context.WithValue(context.WithoutCancel(ctx), txKey{}, (*txState)(nil))
	if t := state(ctx); t != nil {
		t.after = append(t.after, func() { fn(after) })
		return
	}
	fn(after)
}

// conn is the connection for ctx: its transaction inside InTx, else the
// pool. Only this package writes through it; other packages read through
// the store's named read methods.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if t := state(ctx); t != nil {
		return t.db.WithContext(ctx)
	}
	return s.db.WithContext(ctx)
}

// Joined is db inside the store transaction ctx carries (InTx), else db
// itself. It is how another table's owner writes its own rows so that they
// commit, and are retried, with the store's: an admin account's change
// with its audit action, an API key with its own, a photo with the step
// that names it, a webhook receiver's stored answers with an erasure. The
// tables of this package are written by this package alone; the caller
// writes only its own through the connection it gets.
func Joined(ctx context.Context, db *gorm.DB) *gorm.DB {
	if t := state(ctx); t != nil {
		return t.db.WithContext(ctx)
	}
	return db.WithContext(ctx)
}

// Alongside runs write inside ctx's transaction (or a new one, retried as
// InTx retries) with that transaction's connection, for a caller that
// holds no connection of its own to join (see Joined): the flow blanking a
// webhook receiver's stored answers, the webhook package's rows, in the
// erasure's transaction. write writes only its owner's tables.
func (s *Store) Alongside(ctx context.Context, write func(ctx context.Context, tx *gorm.DB) error) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		return write(ctx, s.conn(ctx))
	})
}

// Retryable reports whether err is a lock conflict a new attempt of the
// same transaction can get past: PostgreSQL serialization failure or
// deadlock (40001, 40P01), MySQL deadlock or lock wait timeout (1213,
// 1205), SQLite busy.
func Retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	var my *mysqldriver.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205
	}
	if errors.Is(err, errStale) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// locking adds FOR UPDATE where the database has it. SQLite transactions
// here are IMMEDIATE: the write lock is already held.
func locking(q *gorm.DB) *gorm.DB {
	if q.Name() == model.DialectSQLite {
		return q
	}
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// Get reads one verification, without a lock.
func (s *Store) Get(ctx context.Context, vid int64) (model.Verification, error) {
	var v model.Verification
	err := s.conn(ctx).Take(&v, vid).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("store: get verification: %w", err)
	}
	return v, nil
}
