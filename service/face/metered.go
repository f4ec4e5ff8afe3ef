package face

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metered counts what a provider does: checks started, results by
// outcome, and errors by kind, so a dashboard and an alert see the face
// checks (their pass rate, a provider refusing the app) as they happen.
type Metered struct {
	Provider
	started *prometheus.CounterVec
	results *prometheus.CounterVec
	errs    *prometheus.CounterVec
}

// NewMetered wraps p, registering its counters with reg.
func NewMetered(p Provider, reg prometheus.Registerer) *Metered {
	m := &Metered{Provider: p,
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_face_checks_started_total",
			Help: "Face checks started (verify_ids issued), by provider."}, []string{"provider"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_face_results_total",
			Help: "Face check results asked of the provider, by provider and outcome."}, []string{"provider", "outcome"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_face_errors_total",
			Help: "Face provider calls that failed, by provider and kind (invalid_ticket, unavailable, refused, other)."}, []string{"provider", "kind"}),
	}
	if reg == nil {
		return m
	}
	// Every label value exported at zero from the start, so an alert's
	// increase() sees the first failure.
	m.started.WithLabelValues(p.Name())
	for _, o := range []Outcome{OutcomePassed, OutcomeIdentityMismatch, OutcomeFaceMismatch, OutcomeNoRecord, OutcomePending,
		OutcomeNotFinished, OutcomeRepeated, OutcomeRateLimited, OutcomeConfigError, OutcomeFailed} {
		m.results.WithLabelValues(p.Name(), string(o))
	}
	for _, kind := range []string{"invalid_ticket", "unavailable", "refused", "other"} {
		m.errs.WithLabelValues(p.Name(), kind)
	}
	reg.MustRegister(m.started, m.results, m.errs)
	return m
}

// Start starts a check and counts it.
func (m *Metered) Start(ctx context.Context, s Subject) (Ticket, error) {
	t, err := m.Provider.Start(ctx, s)
	if err != nil {
		m.errs.WithLabelValues(m.Name(), errorKind(err)).Inc()
		return t, err
	}
	m.started.WithLabelValues(m.Name()).Inc()
	return t, nil
}

// Result asks a check's result and counts its outcome.
func (m *Metered) Result(ctx context.Context, s Subject, t Ticket) (Result, error) {
	r, err := m.Provider.Result(ctx, s, t)
	if err != nil {
		m.errs.WithLabelValues(m.Name(), errorKind(err)).Inc()
		return r, err
	}
	m.results.WithLabelValues(m.Name(), string(r.Outcome)).Inc()
	return r, nil
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrInvalidTicket):
		return "invalid_ticket"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrRefused):
		return "refused"
	}
	return "other"
}
