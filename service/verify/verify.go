// Package verify is the real-name verification flow: photos in, fields read,
// the user's confirmation checked against an authoritative source, a
// decision out. The flow decides; service/store writes: every change of a
// verification is a store step (one transaction with one locked read, or
// none when it writes fenced on the row the request read, the transition checked against the store's state machine, its audit event
// and webhook outbox row).
package verify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"realname/service/clock"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/store"
)

// OCR reads card photos (the ocr.Chain).
type OCR interface {
	Recognize(ctx context.Context, req ocr.Request) (ocr.Result, []ocr.Attempt, error)
}

// Intake checks and normalises an uploaded photo before any vendor sees
// it, within the process's image memory budget (the ocr.Intake).
type Intake interface {
	Prepare(ctx context.Context, data []byte) (ocr.Photo, error)
}

// IDCheck decides whether a name and number belong together (the idcheck.Chain).
type IDCheck interface {
	Check(ctx context.Context, name, idNumber string) (idcheck.Decision, error)
}

// Crypto seals personal fields and keys lookups (the pii.KeyRing).
type Crypto interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
	Hash(purpose string, value []byte) []byte
}

// Photos keeps the card photos, sealed. Where they live (files, the
// database, S3) is its business, not the flow's: it writes a photo with
// the transaction of the step that names it and deletes one with the
// transaction that stops naming it, and finds what a crash left between
// the two (store.TxPhotos, store.JournaledPhotos).
type Photos interface {
	// Add stores data as a new photo and runs step with its ref in one
	// store transaction: the photo is kept only if that transaction
	// commits. ctx must carry no transaction.
	Add(ctx context.Context, data []byte, step func(ctx context.Context, ref string) error) error
	// Drop deletes the photos refs with the transaction ctx carries: they
	// are gone once it commits, and stay if it rolls back. Empty refs are
	// skipped.
	Drop(ctx context.Context, refs ...string) error
	// SweepOrphans deletes up to limit photos a crash left unnamed since
	// before, and says how many it deleted.
	SweepOrphans(ctx context.Context, before time.Time, limit int) (int, error)
}

// Policy is what a company decides about verification; see config.
type Policy struct {
	AttemptsPerDay int // name/ID checks per user per day (China time)
	UploadsPerDay  int // photo uploads per user per day
	// ChecksPerIDPerDay bounds the checks of one ID number a day, whichever
	// accounts ask; IDsPerAccountPerDay the different numbers one account
	// has checked a day. 0 is no limit.
	ChecksPerIDPerDay   int
	IDsPerAccountPerDay int
	MinAge              int // holders younger are rejected (under_min_age); 0 is off
	// GuardianUnder sends holders younger to review as
	// guardian_consent_required, unchecked (PIPL art. 31: under 14 needs
	// a guardian's consent); 0 is off.
	GuardianUnder int
	// EchoReading is EchoFull (the default: the upload answer shows its
	// owner what was read) or EchoMasked.
	EchoReading    string
	RequireBack    bool          // the back side must be uploaded before submit
	AccountsPerID  int           // accounts one ID number may be verified on
	RefuseExpired  bool          // an expired card is rejected (card_expired)
	AllowCheck     bool          // POST /verification/check (no photos) is open
	IdleExpiry     time.Duration // draft/recognized verifications expire after this idle time
	PhotoRetention time.Duration // photos are deleted this long after the decision
	ConsentVersion string        // the notice version users must have agreed to
	StuckChecking  time.Duration // a check interrupted by a crash goes to review after this
	// Face is the face check mode (FaceOff, FaceRequired, FaceFallback);
	// FaceConsentVersion the version of its notice users agree to.
	Face               string
	FaceConsentVersion string
	// FaceByApp overrides Face per Mini Program (the capability is granted
	// per app); apps not listed take Face.
	FaceByApp map[string]string
}

// DefaultPolicy is the policy when config says nothing.
func DefaultPolicy() Policy {
	return Policy{
		AttemptsPerDay: 5, UploadsPerDay: 20, ChecksPerIDPerDay: 5, IDsPerAccountPerDay: 2, MinAge: 0, GuardianUnder: 14, EchoReading: EchoFull, RequireBack: true, AccountsPerID: 1,
		RefuseExpired: true, AllowCheck: true, IdleExpiry: 24 * time.Hour, PhotoRetention: 72 * time.Hour,
		ConsentVersion: "v1", StuckChecking: 10 * time.Minute, Face: FaceOff, FaceConsentVersion: "face-v1",
	}
}

// Errors the API maps to codes. Each is a cause the user can act on.
var (
	ErrConsentRequired = errors.New("verify: consent to the personal-data notice is required")
	ErrConsentOutdated = errors.New("verify: consent was given to an outdated notice")
	ErrInvalidState    = store.ErrInvalidState
	ErrErased          = store.ErrErased // the user erased their data: this verification takes no more writes
	ErrAlreadyVerified = errors.New("verify: the user is already verified")
	ErrSideMissing     = errors.New("verify: a required side of the card has not been uploaded")
	ErrNoVerification  = errors.New("verify: the user has no verification")
	ErrCheckDisabled   = errors.New("verify: verification without photos is turned off")
	ErrNameInvalid     = errors.New("verify: the name is not a plausible name")
	ErrOCRUnavailable  = errors.New("verify: no OCR provider could read the photo; retry later")
)

// TooManyError says a daily limit is used up and when it resets.
type TooManyError struct {
	RetryAfter time.Duration
	ResetAt    time.Time // the next midnight, China time
	Limit      Limit
}

// Limit names which daily limit a TooManyError is about.
type Limit string

// The daily limits.
const (
	LimitAttempts      Limit = "attempts"    // the user's own checks or uploads
	LimitIDChecks      Limit = "id_checks"   // checks of this ID number, by any account
	LimitIDsPerAccount Limit = "account_ids" // different numbers this account tried
)

func (e *TooManyError) Error() string {
	switch e.Limit {
	case LimitIDChecks:
		return "verify: this ID number was checked too often today"
	case LimitIDsPerAccount:
		return "verify: this account tried too many ID numbers today"
	}
	return "verify: too many attempts today"
}

// User is the caller, as the session identifies them.
type User struct {
	ID    int64
	AppID string
}

// Service runs the flow.
type Service struct {
	store  *store.Store
	rdb    redis.UniversalClient
	prefix string
	ocr    OCR
	intake Intake
	check  IDCheck
	face   Face // nil: face checks are off
	// stepUps counts step-ups; nil: not counted.
	stepUps *prometheus.CounterVec
	crypto  Crypto
	photos  Photos
	policy  Policy
	log     *slog.Logger
	now     func() time.Time
	china   *time.Location
	tracer  trace.Tracer // nil: the sweeper is not traced (WithTracer)
}

// Deps is what the flow is built from.
type Deps struct {
	Store  *store.Store
	Redis  redis.UniversalClient // daily limits
	Prefix string                // Redis key prefix
	OCR    OCR
	Intake Intake
	Check  IDCheck
	// Face does face checks (REALNAME_FACE); nil: every face call
	// answers ErrFaceOff.
	Face    Face
	StepUps *prometheus.CounterVec // counts step-ups (registered by the caller); nil: not counted
	Crypto  Crypto
	Photos  Photos
	Policy  Policy
	Clock   clock.Clock // the process's one clock, the store's too
	Log     *slog.Logger
}

// New builds the flow from its dependencies.
func New(d Deps) *Service {
	return &Service{
		store: d.Store, rdb: d.Redis, prefix: d.Prefix + "verify:", ocr: d.OCR, intake: d.Intake, check: d.Check,
		face: d.Face, stepUps: d.StepUps, crypto: d.Crypto, photos: d.Photos,
		policy: d.Policy, log: d.Log.With("component", "verify"), now: d.Clock.Now, china: clock.China(),
	}
}

// Policy returns the policy in force, for the API to describe.
func (s *Service) Policy() Policy { return s.policy }
