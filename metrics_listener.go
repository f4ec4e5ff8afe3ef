package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"realname/service/lifecycle"
)

// metricsListener serves /metrics alone on addr (REALNAME_METRICS_ADDR),
// so the main listener, which may face the internet, does not show the
// service's internals. A port that is taken fails the start.
func metricsListener(addr string, reg *prometheus.Registry) *lifecycle.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return &lifecycle.Server{HTTP: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}
