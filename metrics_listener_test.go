package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsListener: the separate listener serves /metrics and nothing
// else.
func TestMetricsListener(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "realname_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	srv := metricsListener("127.0.0.1:0", reg)
	if err := srv.Start(context.Background(), func(err error) { t.Errorf("metrics listener: %v", err) }); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())
	addr := srv.Addr()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/admin/": 404, "/debug/pprof/": 404} {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && !strings.Contains(string(b), "realname_test_total 1")) {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
