package handler

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
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
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
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
