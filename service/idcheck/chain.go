package idcheck

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
)

// Undecided is the chain's outcome when no provider could answer. The flow
// sends such a case to manual review; it is never turned into a verdict.
const Undecided Outcome = "undecided"

// Attempt outcomes besides the provider's own Outcome values.
const (
	AttemptFailed = "failed"       // ErrUnavailable
	AttemptLimit  = "limit"        // ErrLimit
	AttemptOpen   = "circuit_open" // skipped: the provider failed too often lately
	AttemptCached = "cached"       // answered from the cache, nobody was asked
)

// Attempt is one provider's part in a check, for the audit trail.
type Attempt struct {
	Provider string
	Outcome  string // an Outcome, or one of the Attempt* values
	Code     string
	Latency  time.Duration
	Err      error // internal detail for logs; never shown to users
}

// Decision is the chain's answer.
type Decision struct {
	Result
	Cached   bool
	Attempts []Attempt
}

// Hasher keys the cache: a keyed HMAC, so Redis never holds a name or an
// ID number, nor a plain hash one could brute-force from the small space
// of ID numbers.
type Hasher interface {
	Hash(purpose string, value []byte) []byte
}

// ChainOptions tune the chain; zero values take the defaults.
type ChainOptions struct {
	Timeout         time.Duration // per provider call (default 8s)
	CacheTTL        time.Duration // how long a verdict is reused (default 24h; negative: no cache)
	BreakerFailures uint32        // consecutive failures that open a provider's circuit (default 5)
	BreakerCooldown time.Duration // open this long before a trial call (default 30s)

	// Tracer records a span per provider call ("idcheck.check": provider,
	// outcome, the vendor's code); nil: none.
	Tracer trace.TracerProvider
}

// Chain asks providers in order and caches their verdicts.
type Chain struct {
	links  []checkLink
	rdb    redis.UniversalClient
	prefix string
	hash   Hasher
	opts   ChainOptions
	log    *slog.Logger
	m      *chainMetrics
	tracer trace.Tracer
}

type checkLink struct {
	p  Provider
	cb *gobreaker.CircuitBreaker[Result]
}

// ChainDeps is what a chain is built from.
type ChainDeps struct {
	Providers []Provider            // asked in this order
	Redis     redis.UniversalClient // the verdict cache; nil: no cache
	Prefix    string                // Redis key prefix
	Hash      Hasher                // keys the cache by the name and number, never in clear
	Options   ChainOptions
	Log       *slog.Logger
	Registry  prometheus.Registerer // receives the chain's metrics
}

// NewChain builds the chain.
func NewChain(d ChainDeps) *Chain {
	opts := d.Options
	if opts.Timeout <= 0 {
		opts.Timeout = 8 * time.Second
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 24 * time.Hour
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	c := &Chain{rdb: d.Redis, prefix: d.Prefix + "idcheck:", hash: d.Hash, opts: opts, log: d.Log.With("component", "idcheck"), m: newChainMetrics(d.Registry),
		tracer: spans.Tracer(opts.Tracer, "service/idcheck")}
	for _, p := range d.Providers {
		name := p.Name()
		cb := gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
			Name:        name,
			Timeout:     opts.BreakerCooldown,
			ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= opts.BreakerFailures },
			IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(_ string, from, to gobreaker.State) {
				c.log.Warn("idcheck provider circuit changed", "provider", name, "from", from.String(), "to", to.String())
				c.m.breaker.WithLabelValues(name).Set(float64(to))
			},
		})
		c.links = append(c.links, checkLink{p: p, cb: cb})
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

type cached struct {
	Outcome  Outcome `json:"o"`
	Provider string  `json:"p"`
	Code     string  `json:"c"`
}

func (c *Chain) cacheKey(name, idNumber string) string {
	return c.prefix + hex.EncodeToString(c.hash.Hash("idcheck", []byte(name+"\x00"+idNumber)))
}

// Check decides whether name and idNumber belong together. Only a
// context error is returned as an error: provider failures end in
// Undecided, with the attempts saying why.
func (c *Chain) Check(ctx context.Context, name, idNumber string) (Decision, error) {
	useCache := c.rdb != nil && c.hash != nil && c.opts.CacheTTL > 0
	if useCache {
		if d, ok := c.fromCache(ctx, name, idNumber); ok {
			c.m.cacheHits.Inc()
			return d, nil
		}
	}
	var d Decision
	for _, l := range c.links {
		if err := ctx.Err(); err != nil {
			return d, fmt.Errorf("idcheck: %w", err)
		}
		start := time.Now()
		sctx, span := c.tracer.Start(ctx, "idcheck.check", trace.WithAttributes(spans.KeyProvider.String(l.p.Name())))
		res, err := l.cb.Execute(func() (Result, error) {
			cctx, cancel := context.WithTimeout(sctx, c.opts.Timeout)
			defer cancel()
			return l.p.Check(cctx, name, idNumber)
		})
		a := Attempt{Provider: l.p.Name(), Latency: time.Since(start), Err: err}
		var ie *Error
		if errors.As(err, &ie) {
			a.Code = ie.Code
		}
		switch {
		case err == nil:
			a.Outcome, a.Code = string(res.Outcome), res.Code
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			a.Outcome = AttemptOpen
		case errors.Is(err, ErrLimit):
			a.Outcome = AttemptLimit
		default:
			a.Outcome = AttemptFailed
		}
		d.Attempts = append(d.Attempts, a)
		spans.End(span, a.Outcome, a.Outcome == AttemptFailed || a.Outcome == AttemptLimit, spans.KeyVendorCode.String(a.Code))
		c.m.attempts.WithLabelValues(a.Provider, a.Outcome).Inc()
		c.m.latency.WithLabelValues(a.Provider).Observe(a.Latency.Seconds())
		if err == nil {
			res.Provider = l.p.Name()
			d.Result = res
			if useCache && (res.Outcome == Match || res.Outcome == Mismatch) {
				c.toCache(ctx, name, idNumber, res)
			}
			return d, nil
		}
		if ctx.Err() != nil {
			return d, fmt.Errorf("idcheck: %w", ctx.Err())
		}
		c.log.Warn("idcheck provider gave no answer; trying the next", "provider", a.Provider, "code", a.Code, "err", err)
	}
	d.Result = Result{Outcome: Undecided}
	return d, nil
}

func (c *Chain) fromCache(ctx context.Context, name, idNumber string) (Decision, bool) {
	raw, err := c.rdb.Get(ctx, c.cacheKey(name, idNumber)).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.Warn("idcheck cache read failed; asking the providers", "err", err)
		}
		return Decision{}, false
	}
	var v cached
	if json.Unmarshal(raw, &v) != nil || (v.Outcome != Match && v.Outcome != Mismatch) {
		return Decision{}, false
	}
	return Decision{
		Result:   Result{Outcome: v.Outcome, Provider: v.Provider, Code: v.Code},
		Cached:   true,
		Attempts: []Attempt{{Provider: v.Provider, Outcome: AttemptCached, Code: v.Code}},
	}, true
}

func (c *Chain) toCache(ctx context.Context, name, idNumber string, r Result) {
	b, _ := json.Marshal(cached{Outcome: r.Outcome, Provider: r.Provider, Code: r.Code})
	if err := c.rdb.Set(ctx, c.cacheKey(name, idNumber), b, c.opts.CacheTTL).Err(); err != nil {
		c.log.Warn("idcheck cache write failed", "err", err)
	}
}

type chainMetrics struct {
	attempts  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	breaker   *prometheus.GaugeVec
	cacheHits prometheus.Counter
}

func newChainMetrics(reg prometheus.Registerer) *chainMetrics {
	m := &chainMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "realname_idcheck_attempts_total", Help: "Name/ID check provider calls by outcome.",
		}, []string{"provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "realname_idcheck_attempt_duration_seconds", Help: "Name/ID check provider call latency (circuit-open skips included, at ~0).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 4, 8, 16},
		}, []string{"provider"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "realname_idcheck_circuit_state", Help: "Circuit state per name/ID check provider: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "realname_idcheck_cache_hits_total", Help: "Name/ID checks answered from the verdict cache (not paid again).",
		}),
	}
	reg.MustRegister(m.attempts, m.latency, m.breaker, m.cacheHits)
	return m
}

// provider exports a provider's series at zero from the start: an
// alert's increase() then sees its first failure, and a closed circuit
// reads 0 rather than nothing.
func (m *chainMetrics) provider(name string) {
	for _, o := range []string{string(Match), string(Mismatch), string(NoRecord), string(InvalidID), string(InvalidName),
		AttemptFailed, AttemptLimit, AttemptOpen} {
		m.attempts.WithLabelValues(name, o)
	}
	m.latency.WithLabelValues(name)
	m.breaker.WithLabelValues(name).Set(0)
}
