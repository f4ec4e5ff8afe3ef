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
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"realname/service/webhook/internal/whstore"
)

// Sealer encrypts endpoint secrets at rest (the pii.KeyRing).
type Sealer interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
}

// State is where a delivery stands: pending, delivering (leased to a
// worker), succeeded, failed (the schedule ran out) or paused (its endpoint
// is disabled). The store owns the machine and its transition table.
type State = whstore.State

// States lists the delivery states, in the order of a delivery's life.
func States() []State { return whstore.States() }

var (
	// ErrNotFound means no endpoint or delivery has that id.
	ErrNotFound = whstore.ErrNotFound
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
	st      *whstore.Store // every read and write of the webhook tables
	seal    Sealer
	log     *slog.Logger
	opts    Options
	strict  *http.Client // public destinations and AllowCIDRs
	private *http.Client // those and RFC 1918/ULA, for endpoints with the switch
	metrics *metrics
	targets targetCache
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
	s := &Service{st: whstore.New(db), seal: seal, log: log.With("component", "webhook"), opts: opts, metrics: m,
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
