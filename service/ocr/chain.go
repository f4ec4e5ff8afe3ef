package ocr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
)

// ErrUnavailable means no provider in the chain could answer: every one
// failed, timed out or has its circuit open. The user may retry later.
var ErrUnavailable = errors.New("ocr: no provider could read the photo")

// Attempt outcomes, stored with each attempt.
const (
	OutcomeOK       = "ok"
	OutcomeNoCard   = "no_card"
	OutcomeBadImage = "bad_image"
	OutcomeFailed   = "failed"       // provider failure; the chain moved on
	OutcomeOpen     = "circuit_open" // not called: the provider failed too often lately
)

// Attempt is one provider's part in a recognition, for the audit trail.
type Attempt struct {
	Provider string
	Outcome  string
	Code     string // the vendor's error code, when it gave one
	Latency  time.Duration
	Err      error // internal detail for logs; never shown to users
}

// ChainOptions tune the chain; zero values take the defaults.
type ChainOptions struct {
	Timeout         time.Duration            // per provider call (default 8s)
	BreakerFailures uint32                   // consecutive failures that open a provider's circuit (default 5)
	BreakerCooldown time.Duration            // how long it stays open before one trial call (default 30s)
	BreakerHalfOpen uint32                   // trial calls let through when half-open (default 1)
	Timeouts        map[string]time.Duration // per provider name, overriding Timeout

	// Tracer records a span per provider call ("ocr.recognize": provider,
	// outcome, the vendor's code); nil: none.
	Tracer trace.TracerProvider
}

// Chain tries providers in order until one answers. Definitive answers
// about the photo stop it: asking another vendor would cost money and say
// the same.
type Chain struct {
	links  []link
	log    *slog.Logger
	m      *chainMetrics
	tracer trace.Tracer
}

type link struct {
	p       Provider
	timeout time.Duration
	cb      *gobreaker.CircuitBreaker[Result]
}

// NewChain builds the chain over providers in the given order. Each gets a
// circuit breaker (sony/gobreaker: a maintained, well-tested state machine)
// so a vendor that is down costs one timeout per cooldown, not one per user.
func NewChain(providers []Provider, opts ChainOptions, log *slog.Logger, reg prometheus.Registerer) *Chain {
	if opts.Timeout <= 0 {
		opts.Timeout = 8 * time.Second
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	if opts.BreakerHalfOpen == 0 {
		opts.BreakerHalfOpen = 1
	}
	c := &Chain{log: log.With("component", "ocr"), m: newChainMetrics(reg), tracer: spans.Tracer(opts.Tracer, "service/ocr")}
	for _, p := range providers {
		timeout := opts.Timeout
		if t, ok := opts.Timeouts[p.Name()]; ok && t > 0 {
			timeout = t
		}
		name := p.Name()
		cb := gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
			Name:        name,
			MaxRequests: opts.BreakerHalfOpen,
			Timeout:     opts.BreakerCooldown,
			ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= opts.BreakerFailures },
			// A definitive answer is the provider working as it should.
			IsSuccessful: func(err error) bool { return err == nil || Definitive(err) },
			// The user giving up says nothing about the provider.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(_ string, from, to gobreaker.State) {
				c.log.Warn("ocr provider circuit changed", "provider", name, "from", from.String(), "to", to.String())
				c.m.breaker.WithLabelValues(name).Set(float64(to))
			},
		})
		c.links = append(c.links, link{p: p, timeout: timeout, cb: cb})
		c.m.provider(name)
	}
	return c
}

// Providers lists the chain's providers in order.
func (c *Chain) Providers() []string {
	out := make([]string, len(c.links))
	for i, l := range c.links {
		out[i] = l.p.Name()
	}
	return out
}

// Recognize asks each provider in turn. It returns the first result, or
// the first definitive error, or ErrUnavailable; attempts lists every
// provider's part either way.
func (c *Chain) Recognize(ctx context.Context, req Request) (Result, []Attempt, error) {
	var attempts []Attempt
	for _, l := range c.links {
		if err := ctx.Err(); err != nil {
			return Result{}, attempts, fmt.Errorf("ocr: %w", err)
		}
		start := time.Now()
		sctx, span := c.tracer.Start(ctx, "ocr.recognize", trace.WithAttributes(spans.KeyProvider.String(l.p.Name())))
		res, err := l.cb.Execute(func() (Result, error) {
			cctx, cancel := context.WithTimeout(sctx, l.timeout)
			defer cancel()
			return l.p.Recognize(cctx, req)
		})
		a := Attempt{Provider: l.p.Name(), Latency: time.Since(start), Err: err}
		var oe *Error
		if errors.As(err, &oe) {
			a.Code = oe.Code
		}
		switch {
		case err == nil:
			a.Outcome = OutcomeOK
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			a.Outcome = OutcomeOpen
		case errors.Is(err, ErrNoCard):
			a.Outcome = OutcomeNoCard
		case errors.Is(err, ErrBadImage):
			a.Outcome = OutcomeBadImage
		default:
			a.Outcome = OutcomeFailed
		}
		attempts = append(attempts, a)
		spans.End(span, a.Outcome, a.Outcome == OutcomeFailed, spans.KeyVendorCode.String(a.Code))
		c.m.attempts.WithLabelValues(a.Provider, a.Outcome).Inc()
		c.m.latency.WithLabelValues(a.Provider).Observe(a.Latency.Seconds())
		switch a.Outcome {
		case OutcomeOK:
			res.Provider, res.Latency = l.p.Name(), a.Latency
			return res, attempts, nil
		case OutcomeNoCard, OutcomeBadImage:
			return Result{}, attempts, err
		case OutcomeFailed:
			if ctx.Err() != nil {
				return Result{}, attempts, fmt.Errorf("ocr: %w", ctx.Err())
			}
			c.log.Warn("ocr provider failed; trying the next", "provider", a.Provider, "code", a.Code, "err", err, "latency_ms", a.Latency.Milliseconds())
		}
	}
	return Result{}, attempts, ErrUnavailable
}

type chainMetrics struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
}

func newChainMetrics(reg prometheus.Registerer) *chainMetrics {
	m := &chainMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realname_ocr_attempts_total", Help: "OCR provider calls by outcome.",
		}, []string{"provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "realname_ocr_attempt_duration_seconds", Help: "OCR provider call latency.",
			Buckets: []float64{.1, .25, .5, 1, 2, 4, 8, 16},
		}, []string{"provider"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "realname_ocr_circuit_state", Help: "Circuit state per OCR provider: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
	}
	reg.MustRegister(m.attempts, m.latency, m.breaker)
	return m
}

// provider exports a provider's series at zero from the start: an
// alert's increase() then sees its first failure, and a closed circuit
// reads 0 rather than nothing.
func (m *chainMetrics) provider(name string) {
	for _, o := range []string{OutcomeOK, OutcomeNoCard, OutcomeBadImage, OutcomeFailed, OutcomeOpen} {
		m.attempts.WithLabelValues(name, o)
	}
	m.latency.WithLabelValues(name)
	m.breaker.WithLabelValues(name).Set(0)
}
