package store

import "github.com/prometheus/client_golang/prometheus"

// CountTransitions makes the store count every committed transition
// between two different states in reg, as
// realname_verification_transitions_total{from,to}, and returns the store.
// The store is the one writer of the state, so this one counter sees the
// flow's decisions, staff decisions, expiries and revocations alike; it is
// counted after the commit, so a retried or rolled-back transaction counts
// nothing. Every pair the state machine allows is exported from the start
// at zero, so an alert's increase() sees the first one. Call it before the
// store is shared.
func (s *Store) CountTransitions(reg prometheus.Registerer) *Store {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_verification_transitions_total",
		Help: "Verifications moved from one state to another (committed), by from and to state; erasures are not counted."},
		[]string{"from", "to"})
	for from, tos := range transitions {
		for _, to := range tos {
			if to != from {
				c.WithLabelValues(string(from), string(to))
			}
		}
	}
	reg.MustRegister(c)
	s.transitions = c
	return s
}

// transition is one state change a transaction wrote, counted at commit.
type transition struct{ from, to State }

// countCommitted counts the transitions of a committed transaction.
func (s *Store) countCommitted(moved []transition) {
	if s.transitions == nil {
		return
	}
	for _, m := range moved {
		s.transitions.WithLabelValues(string(m.from), string(m.to)).Inc()
	}
}
