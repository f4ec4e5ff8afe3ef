// Package admin holds the staff accounts of the review pages: bcrypt
// password hashes, login with rate limiting and lock-out, and sessions in
// Redis. Every login, failed login and account change is written to the
// audit trail (service/review's hash chain).
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/service/clock"
)

// Roles. Reviewers decide cases; admins also manage accounts and webhooks.
const (
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// Options tune accounts and sessions; zero values take the defaults.
type Options struct {
	SessionTTL    time.Duration // a session's lifetime from login (8h)
	IdleTimeout   time.Duration // a session ends after this long without a request (30m)
	MaxFailures   int           // consecutive failed logins before a lock-out (5)
	LockFor       time.Duration // lock-out duration (15m)
	LoginWindow   time.Duration // rate-limit window (15m)
	LoginsPerIP   int           // login attempts per client address per window (30)
	LoginsPerUser int           // login attempts per username per window (10)
	BcryptCost    int           // 12; tests use bcrypt.MinCost
	Clock         clock.Clock   // the process's clock (the wall clock when nil)
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.SessionTTL, 8*time.Hour)
	def(&o.LockFor, 15*time.Minute)
	def(&o.IdleTimeout, min(30*time.Minute, o.SessionTTL))
	def(&o.LoginWindow, 15*time.Minute)
	defInt(&o.MaxFailures, 5)
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	defInt(&o.LoginsPerIP, 30)
	defInt(&o.LoginsPerUser, 10)
	defInt(&o.BcryptCost, 12)
	return o
}

// Errors the login page and the account pages map to messages.
var (
	ErrBadCredentials = errors.New("admin: wrong username or password")
	// ErrLocked is a refusal because of a lock-out. It is also
	// ErrBadCredentials: what a person is told must not reveal that the
	// account exists (anyone could lock out a guessed username).
	ErrLocked      = fmt.Errorf("%w (account locked after repeated failed logins)", ErrBadCredentials)
	ErrNoSession   = errors.New("admin: no such session")
	ErrExists      = errors.New("admin: username taken")
	ErrNotFound    = errors.New("admin: no such account")
	ErrInvalidRole = errors.New("admin: role must be reviewer or admin")
	// ErrInvalidLanguage is a console language the pages do not speak.
	ErrInvalidLanguage = errors.New("admin: unknown language")
	ErrInvalidName     = errors.New("admin: username must be 3-64 letters, digits, '.', '_' or '-'")
	ErrWeakPassword    = errors.New("admin: password must be 12 to 72 bytes and not guessable (a common password, a pattern, the username)")
)

// RateLimitError says too many login attempts came from one address or for
// one username.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return "admin: too many login attempts" }

// Trail records account changes, sign-ins and sign-outs in the audit
// chain (a *store.Store): an account's row and its audit action are
// written in one of its transactions, with its retry, so no change goes
// unrecorded.
type Trail interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	AppendAction(ctx context.Context, actor, typ string, data map[string]any) error
}

// Service manages accounts and sessions.
type Service struct {
	db     *gorm.DB // admin_users: this package's table, written only here
	trail  Trail
	rdb    redis.UniversalClient // nil for the command line, which needs no sessions
	prefix string
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	dummy  []byte // a hash to compare against for unknown usernames, so timing does not tell
}

// New builds the service over db, which holds the accounts, and trail,
// which records what happens to them. rdb may be nil when only accounts
// are managed (the "admin create" command).
func New(db *gorm.DB, trail Trail, rdb redis.UniversalClient, prefix string, opts Options, log *slog.Logger) (*Service, error) {
	opts = opts.withDefaults()
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return &Service{db: db, trail: trail, rdb: rdb, prefix: prefix + "admin:", opts: opts, log: log.With("component", "admin"),
		now: opts.Clock.Now, dummy: dummy}, nil
}

// SessionTTL is how long a session lasts, for the cookie's Max-Age.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }
