// Package review is what staff do with the cases the machine could not
// settle: the queue, the case file, reveals of personal data, claims and
// decisions, and the tamper-evident audit trail that records all of it.
//
// Every write goes through service/store: a decision is one step (claim
// check, state check, transition, binding, note, audit event and webhook
// outbox row in one transaction); staff actions that are not transitions
// (claims, reveals, a first approval) are steps that keep the state.
package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/store"
)

// Crypto opens sealed fields, seals reviewers' notes and keys lookups
// (pii.KeyRing).
type Crypto interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
	Hash(purpose string, value []byte) []byte
}

// Blobs reads stored photos (pii.FileBlobs).
type Blobs interface {
	Get(ctx context.Context, ref string) ([]byte, error)
}

// Options tune the review rules; zero values take the defaults.
type Options struct {
	ClaimTTL     time.Duration // how long a claim holds without a decision (30m)
	RevealWindow time.Duration // how long after a reveal the reviewer may load the photos (15m)
	Clock        clock.Clock   // the process's clock (the wall clock when nil)
	// Zone is where the dashboard's days start (REALNAME_TIMEZONE); China
	// time when nil.
	Zone *time.Location
	// NotifyUser queues a WeChat subscription message to the user with
	// each decision (sent by notify.Courier, never in the decision's way).
	NotifyUser bool
	// RevealLimit reveals per RevealLimitWindow per staff member (10 per
	// 5m); past it reveals are refused and an alert is audited.
	RevealLimit       int
	RevealLimitWindow time.Duration
	// Registry takes the review metrics; nil: not exported.
	Registry prometheus.Registerer
}

// Service runs the review actions.
type Service struct {
	// reads is the read model of the pages: the queue, the case file, the
	// search, the audit log and the dashboards query it. Nothing is
	// written through it: every write is a store step or action.
	reads   *gorm.DB
	crypto  Crypto
	blobs   Blobs
	store   *store.Store
	opts    Options
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
	zone    *time.Location
}

// Deps are what the review service works with.
type Deps struct {
	Reads  *gorm.DB     // the pages' reads: queue, case file, search, audit log, dashboards
	Crypto Crypto       // opens what a reviewer reveals
	Blobs  Blobs        // the photos; nil shows none
	Store  *store.Store // every write
	Log    *slog.Logger
}

// New builds the review service.
func New(d Deps, opts Options) *Service {
	db, crypto, blobs, st, log := d.Reads, d.Crypto, d.Blobs, d.Store, d.Log
	if opts.ClaimTTL <= 0 {
		opts.ClaimTTL = 30 * time.Minute
	}
	if opts.RevealWindow <= 0 {
		opts.RevealWindow = 15 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Zone == nil {
		opts.Zone = clock.China()
	}
	if opts.RevealLimit <= 0 {
		opts.RevealLimit = 10
	}
	if opts.RevealLimitWindow <= 0 {
		opts.RevealLimitWindow = 5 * time.Minute
	}
	return &Service{reads: db, crypto: crypto, blobs: blobs, store: st, opts: opts, metrics: newMetrics(opts.Registry),
		log: log.With("component", "review"), now: opts.Clock.Now, zone: opts.Zone}
}

// Errors the pages map to messages.
var (
	ErrNotFound       = errors.New("review: no such case")
	ErrInvalidState   = errors.New("review: the case is not in review")
	ErrNotClaimed     = store.ErrNotClaimed // claim the case before deciding it
	ErrSameReviewer   = errors.New("review: a second, different reviewer must confirm this approval")
	ErrUnknownReason  = errors.New("review: unknown reason code")
	ErrErased         = store.ErrErased // the user's personal data was erased: nothing more is decided
	ErrPhotosGone     = errors.New("review: the photos are no longer retained")
	ErrRevealRequired = errors.New("review: reveal the case before loading its photos")
	// ErrRevealNotClaimed: a reviewer reveals only a case in review they
	// hold a claim on.
	ErrRevealNotClaimed = errors.New("review: claim the case in review before revealing it")
	// ErrRevealReason: an admin's reveal of a case they do not hold needs
	// a stated reason.
	ErrRevealReason = errors.New("review: a reveal outside one's claimed case needs a reason")
	// ErrRevealRate: the staff member reached their reveal limit.
	ErrRevealRate = errors.New("review: too many reveals in a short time")
)

// ClaimedError says another reviewer holds the case.
type ClaimedError = store.ClaimedError

// Actor is how staff appear in the audit trail: "admin:<id>".
func Actor(adminID int64) string { return "admin:" + strconv.FormatInt(adminID, 10) }

// actorID parses "admin:<id>"; ok is false for users and the system.
func actorID(actor string) (int64, bool) { return store.AdminID(actor) }

// load reads one verification or ErrNotFound.
func (s *Service) load(ctx context.Context, db *gorm.DB, vid int64) (model.Verification, error) {
	var v model.Verification
	err := db.WithContext(ctx).Take(&v, vid).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("review: load case: %w", err)
	}
	return v, nil
}

// usernames resolves admin actors to names for display.
func (s *Service) usernames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []model.AdminUser
	if err := s.reads.WithContext(ctx).Select("id", "username").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("review: admin names: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Username
	}
	return out, nil
}

// wrapState turns verify's state error into ours, keeping both for errors.Is.
func wrapState(err error) error {
	if errors.Is(err, store.ErrInvalidState) {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
