package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// startPprof serves Go's profiles on addr (loopback only, enforced by the
// config) until ctx ends, for "where does the time go" under real load:
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30.
// Its own mux, not http.DefaultServeMux, so nothing else is exposed there.
// It listens before returning, so a taken port fails the start.
func startPprof(ctx context.Context, addr string, log *slog.Logger) (net.Addr, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveAside(ctx, addr, "profiling endpoint", mux, log)
}
