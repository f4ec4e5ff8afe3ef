package main

import (
	"net/http"
	"net/http/pprof"
	"time"

	"realname/service/lifecycle"
)

// pprofListener serves Go's profiles on addr (loopback only, enforced by
// the config), for "where does the time go" under real load:
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30.
// Its own mux, not http.DefaultServeMux, so nothing else is exposed there.
// A profile being taken does not hold a shutdown up (no Drain).
func pprofListener(addr string) *lifecycle.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &lifecycle.Server{HTTP: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}
