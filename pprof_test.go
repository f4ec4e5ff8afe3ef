package main

import (
	"context"
	"net/http"
	"testing"
)

// TestPprofEndpoint: the profiles are served, and nothing else is.
func TestPprofEndpoint(t *testing.T) {
	srv := pprofListener("127.0.0.1:0")
	if err := srv.Start(context.Background(), func(err error) { t.Errorf("profiling endpoint: %v", err) }); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())
	addr := srv.Addr()
	for path, want := range map[string]int{"/debug/pprof/cmdline": 200, "/debug/pprof/heap?debug=1": 200, "/": 404, "/metrics": 404} {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
