package handler

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// healthz says the process is up; it touches no dependency so a load
// balancer never restarts an instance because the database blinked.
func healthz(version string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "version": version})
	}
}

// readyz runs every check in parallel under one short deadline and answers
// 503 naming the ones that failed, so traffic drains from an instance that
// cannot reach its stores. Error details go to the log, not the answer: they
// can contain hosts and user names.
func readyz(checks map[string]Check, log *slog.Logger) gin.HandlerFunc {
	names := checkNames(checks)
	return func(c *gin.Context) {
		results := runChecks(c.Request.Context(), names, checks, log)
		code, overall := http.StatusOK, "ok"
		var failed []string
		for _, name := range names {
			if results[name] != "ok" {
				failed = append(failed, name)
			}
		}
		if len(failed) > 0 {
			code, overall = http.StatusServiceUnavailable, "unavailable"
		}
		body := gin.H{"status": overall, "checks": results}
		if len(failed) > 0 {
			body["failed"] = failed
		}
		c.JSON(code, body)
	}
}

func checkNames(checks map[string]Check) []string {
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// runChecks runs every check in parallel under one short deadline: "ok"
// or "unavailable" by name.
func runChecks(ctx context.Context, names []string, checks map[string]Check, log *slog.Logger) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	results := make(map[string]string, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := "ok"
			if err := checks[name](ctx); err != nil {
				status = "unavailable"
				log.Warn("readiness check failed", "check", name, "err", err)
			}
			mu.Lock()
			results[name] = status
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}

// readinessCollector runs the readiness checks at each scrape, as
// realname_readiness_up{check}: the scraper sees the database or Redis
// down on every instance, whatever the load balancer does with /readyz.
type readinessCollector struct {
	desc   *prometheus.Desc
	names  []string
	checks map[string]Check
	log    *slog.Logger
}

func newReadinessCollector(checks map[string]Check, log *slog.Logger) *readinessCollector {
	return &readinessCollector{names: checkNames(checks), checks: checks, log: log,
		desc: prometheus.NewDesc("realname_readiness_up",
			"Whether each /readyz check passes at scrape time (1) or not (0): database, redis, disk.", []string{"check"}, nil)}
}

// Describe sends the one descriptor.
func (r *readinessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

// Collect runs the checks and sends one gauge per check.
func (r *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	for name, status := range runChecks(context.Background(), r.names, r.checks, r.log) {
		up := 0.0
		if status == "ok" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, up, name)
	}
}
