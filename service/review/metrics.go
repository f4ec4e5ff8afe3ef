package review

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts reveals of personal data and refusals, so a dashboard
// and an alert see a bulk look as it happens.
type metrics struct {
	reveals  *prometheus.CounterVec
	refusals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reveals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_admin_reveals_total",
			Help: "Reveals of a case's personal data by staff, by kind: claimed (the reviewer's own case in review) or override (an admin, with a reason)."},
			[]string{"kind"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_admin_reveal_refusals_total",
			Help: "Reveals refused, by reason: not_claimed, reason_required, rate (the staff member's reveal limit)."},
			[]string{"reason"}),
	}
	// Exported at zero from the start, so an alert's increase() sees the
	// first reveal.
	for _, kind := range []string{"claimed", "override"} {
		m.reveals.WithLabelValues(kind)
	}
	for _, reason := range []string{"not_claimed", "reason_required", "rate"} {
		m.refusals.WithLabelValues(reason)
	}
	if reg != nil {
		reg.MustRegister(m.reveals, m.refusals)
	}
	return m
}

func (m *metrics) revealed(override bool) {
	kind := "claimed"
	if override {
		kind = "override"
	}
	m.reveals.WithLabelValues(kind).Inc()
}

func (m *metrics) refused(err error) {
	reason := "rate"
	switch {
	case errors.Is(err, ErrRevealNotClaimed):
		reason = "not_claimed"
	case errors.Is(err, ErrRevealReason):
		reason = "reason_required"
	}
	m.refusals.WithLabelValues(reason).Inc()
}
