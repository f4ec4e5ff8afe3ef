// Package webhook tells business systems about verifications by signed
// HTTP callbacks. The verification flow writes events into an outbox table
// in its own transactions; this package fans them out into one delivery per
// subscribed endpoint, and workers in every instance claim due deliveries
// (row locks with SKIP LOCKED), POST them signed per the Standard Webhooks
// spec, record each attempt and retry on a schedule.
//
// Delivery is at least once: a worker that dies after the receiver answered
// but before the answer was recorded leaves the delivery to be sent again
// when its lease runs out. Receivers deduplicate on the webhook-id header,
// the outbox row's id, which every retry and replay repeats. One delivery
// is never in flight twice at the same moment: the lease is at least twice
// the POST timeout, and a late result is fenced off by the lease id.
package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// Sealer encrypts endpoint secrets at rest (the pii.KeyRing).
type Sealer interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
}

// Delivery states stored in model.WebhookDelivery.Status.
const (
	StatusPending    = "pending"    // waiting for its next attempt
	StatusDelivering = "delivering" // claimed by a worker, under lease
	StatusSucceeded  = "succeeded"  // the receiver answered 2xx
	StatusFailed     = "failed"     // the schedule ran out
	StatusPaused     = "paused"     // its endpoint is disabled; resumes on enable
)

var (
	// ErrNotFound means no endpoint or delivery has that id.
	ErrNotFound = errors.New("webhook: not found")
	// ErrInvalid wraps a rejected endpoint setting; the message says
	// which, and an *InvalidError names it by a stable code.
	ErrInvalid = errors.New("webhook: invalid endpoint")
	// ErrInFlight means the delivery is still queued or being sent, so
	// there is nothing to replay.
	ErrInFlight = errors.New("webhook: delivery is still queued or in flight")
	// ErrEndpointDisabled means the endpoint must be enabled before its
	// deliveries can be replayed.
	ErrEndpointDisabled = errors.New("webhook: endpoint is disabled")
)

// dbTimeout bounds each database step of the loops, so a hung connection
// cannot stall a worker forever.
const dbTimeout = 30 * time.Second

// Service manages endpoints and runs the dispatcher. It is safe for
// concurrent use; every instance of the server runs one.
type Service struct {
	db      *gorm.DB
	seal    Sealer
	log     *slog.Logger
	opts    Options
	strict  *http.Client // public destinations and AllowCIDRs
	private *http.Client // those and RFC 1918/ULA, for endpoints with the switch
	metrics *metrics
	targets targetCache
	// sqliteWrite queues this instance's queue writers in Go: SQLite has
	// one writer at a time anyway, and its busy handler backs off in sleeps
	// of up to 100 ms, which would waste most of the time under contention.
	sqliteWrite sync.Mutex
	// wake lets the fan-out tell this instance's idle workers that work
	// just arrived, instead of leaving it for their next poll.
	wake chan struct{}
	// fanoutWake does the same for the fan-out: events were committed.
	fanoutWake chan struct{}
	// queued announces to every instance's workers what the fan-out
	// queued; nil leaves other instances to their poll.
	queued Signal
	// numbered announces to every instance's feed readers that events
	// joined the feed; bell wakes this instance's long-polls.
	numbered Signal
	bell     *bell
	tracer   trace.Tracer // nil: nothing traced (TraceWith)
}

// Signal is one line of wake-ups shared by the instances (a *wake.Line):
// Listen registers a non-blocking call for every wake-up, from any
// instance; a writer calls Stage inside its transaction and Committed after.
type Signal interface {
	Listen(fn func())
	Stage(tx *gorm.DB) error
	Committed()
}

// WakeOn wakes the fan-out when outbox fires (events were committed,
// here or on another instance) and the workers when deliveries fires, and
// makes the fan-out fire deliveries for what it queues. Call it before Run.
// Without it, the loops find work by polling alone.
func (s *Service) WakeOn(outbox, deliveries Signal) {
	outbox.Listen(s.kickFanout)
	deliveries.Listen(s.kick)
	s.queued = deliveries
}

// FeedOn wakes this instance's long-polling feed readers when feed fires
// (events were numbered, here or on another instance), and makes the
// fan-out fire it. Without it, readers are woken by this instance's
// fan-out alone.
func (s *Service) FeedOn(feed Signal) {
	feed.Listen(s.bell.ring)
	s.numbered = feed
}

// New returns a service. reg may be nil (no metrics exported).
func New(db *gorm.DB, seal Sealer, log *slog.Logger, reg prometheus.Registerer, opts Options) (*Service, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, seal: seal, log: log.With("component", "webhook"), opts: opts, metrics: m,
		wake: make(chan struct{}, opts.Workers), fanoutWake: make(chan struct{}, 1), bell: newBell()}
	s.strict = newClient(opts, newGuard(opts.AllowCIDRs, false))
	s.private = newClient(opts, newGuard(opts.AllowCIDRs, true))
	return s, nil
}

// Run fans out events and delivers them until ctx ends, then waits for the
// in-flight POSTs (bounded by Options.Timeout) and returns.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.fanoutLoop(ctx) })
	for i := range s.opts.Workers {
		wg.Go(func() { s.workerLoop(ctx, i) })
	}
	wg.Go(func() { s.metricsLoop(ctx) })
	wg.Go(func() { s.pruneLoop(ctx) })
	wg.Wait()
	s.strict.CloseIdleConnections()
	s.private.CloseIdleConnections()
}

// now reads the process's clock (Options.Clock), the one model.Open stamps rows with.
func (s *Service) now() time.Time { return s.opts.Clock.Now() }

// kick wakes idle workers without blocking when they are all awake.
func (s *Service) kick() {
	for range s.opts.Workers {
		select {
		case s.wake <- struct{}{}:
		default:
			return
		}
	}
}

// kickFanout wakes the fan-out without blocking; a wake-up that comes
// while it is busy is kept for its next sleep, so none is lost.
func (s *Service) kickFanout() {
	select {
	case s.fanoutWake <- struct{}{}:
	default:
	}
}

// sleep waits for d, a kick or the end of ctx; it reports whether ctx is
// still alive.
func (s *Service) sleep(ctx context.Context, d time.Duration) bool { return wait(ctx, d, s.wake) }

// wait waits for d, a value on wake (nil: none) or the end of ctx; it
// reports whether ctx is still alive.
func wait(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

// queueTx runs fn in a transaction suited to queue tables: READ COMMITTED
// on MySQL/MariaDB, whose default REPEATABLE READ takes gap locks that
// would make concurrent claims and fan-outs block one another.
//
// A transaction the database aborted to break a deadlock is run again: fn
// must be repeatable (no effects outside the transaction but what it resets).
func (s *Service) queueTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer s.writing()()
	var opts []*sql.TxOptions
	if s.db.Name() == model.DialectMySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	var err error
	for try := 1; ; try++ {
		err = s.db.WithContext(ctx).Transaction(fn, opts...)
		if err == nil || try == 3 || !deadlocked(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(try*rand.IntN(20)) * time.Millisecond)
	}
}

// leaseTx is queueTx for the claims and results of deliveries, committed
// without waiting for the WAL flush on PostgreSQL. Losing such a commit in
// a database crash only sends a delivery again (its claim or result is
// undone, the lease runs out, the sweep requeues it), which at-least-once
// delivery allows; the fan-out keeps the flush, since feed numbers readers
// have seen must not be handed out again. Two flushes per batch were half
// a worker's wall time on a 600 µs fsync disk.
func (s *Service) leaseTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.db.Name() != model.DialectPostgres {
		return s.queueTx(ctx, fn)
	}
	return s.queueTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL synchronous_commit = off").Error; err != nil {
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
func (s *Service) writing() func() {
	if s.db.Name() != model.DialectSQLite {
		return func() {}
	}
	s.sqliteWrite.Lock()
	start := time.Now()
	return func() {
		time.Sleep(min(max(time.Since(start)/2, time.Millisecond), 50*time.Millisecond))
		s.sqliteWrite.Unlock()
	}
}

// skipLocked adds FOR UPDATE SKIP LOCKED where the database has it. SQLite
// has no row locks; its immediate transactions serialise writers, which is
// enough for the one process that may use it.
func (s *Service) skipLocked(q *gorm.DB) *gorm.DB {
	if s.db.Name() == model.DialectSQLite {
		return q
	}
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
}

// forUpdate locks the selected rows where the database has row locks.
func (s *Service) forUpdate(q *gorm.DB) *gorm.DB {
	if s.db.Name() == model.DialectSQLite {
		return q
	}
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// InvalidError is a rejected endpoint setting with a stable code (url_parse,
// url_scheme, url_host, url_credentials, url_fragment, url_too_long,
// unknown_event_type, endpoint_disabled), so the staff pages can say it in
// their language; it is ErrInvalid to errors.Is.
type InvalidError struct {
	Code   string
	Detail string
}

func (e *InvalidError) Error() string { return ErrInvalid.Error() + ": " + e.Detail }

// Unwrap makes an InvalidError match ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(code, format string, args ...any) error {
	return &InvalidError{Code: code, Detail: fmt.Sprintf(format, args...)}
}
