package face_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"realname/service/face"
)

type scripted struct{ result face.Result }

func (scripted) Name() string { return "fake" }
func (scripted) Start(context.Context, face.Subject) (face.Ticket, error) {
	return face.Ticket{VerifyID: "v"}, nil
}
func (s scripted) Result(context.Context, face.Subject, face.Ticket) (face.Result, error) {
	return s.result, nil
}

// TestMeteredCounts: starts and results are counted by outcome, and every
// outcome is exported (at zero) before it first happens.
func TestMeteredCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := face.NewMetered(scripted{face.Result{Outcome: face.OutcomePassed}}, reg)
	if n, err := testutil.GatherAndCount(reg, "realname_face_results_total", "realname_face_errors_total"); err != nil || n != 14 {
		t.Fatalf("series before any check: %d %v, want 10 outcomes and 4 error kinds", n, err)
	}
	tk, _ := m.Start(context.Background(), face.Subject{})
	m.Result(context.Background(), face.Subject{}, tk)
	want := `
# HELP realname_face_checks_started_total Face checks started (verify_ids issued), by provider.
# TYPE realname_face_checks_started_total counter
realname_face_checks_started_total{provider="fake"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "realname_face_checks_started_total"); err != nil {
		t.Error(err)
	}
	families, _ := reg.Gather()
	var passed, all float64
	for _, f := range families {
		for _, s := range f.GetMetric() {
			if f.GetName() == "realname_face_results_total" {
				all += s.GetCounter().GetValue()
				if s.GetLabel()[0].GetValue() == "passed" { // labels sorted: outcome, provider
					passed += s.GetCounter().GetValue()
				}
			}
		}
	}
	if passed != 1 || all != 1 {
		t.Errorf("results: %v passed of %v, want the one result counted as passed", passed, all)
	}
}
