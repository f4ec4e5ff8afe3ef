package face_test

import (
	"context"
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

// TestMeteredCounts: starts and results are counted by outcome.
func TestMeteredCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := face.NewMetered(scripted{face.Result{Outcome: face.OutcomePassed}}, reg)
	tk, _ := m.Start(context.Background(), face.Subject{})
	m.Result(context.Background(), face.Subject{}, tk)
	if n, err := testutil.GatherAndCount(reg, "realname_face_checks_started_total", "realname_face_results_total"); err != nil || n != 2 {
		t.Fatalf("series: %d %v", n, err)
	}
}
