package handler

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"realname/model/modeltest"
	"realname/service/clock"
	"realname/web"
)

// TestDiskFullIs503AndNotReady: a write refused for lack of space answers
// 503 disk_full with Retry-After (not 500), and /readyz fails until the
// hold passes.
func TestDiskFullIs503AndNotReady(t *testing.T) {
	// A real SQLite database that runs out of pages gives the driver's own
	// "database or disk is full".
	db := modeltest.Open(t, modeltest.Backends()[0], false)
	db.Exec("CREATE TABLE fill (b BLOB)")
	db.Exec("PRAGMA max_page_count = 8")
	var sqliteErr error
	for range 100 {
		if sqliteErr = db.Exec("INSERT INTO fill VALUES (randomblob(4000))").Error; sqliteErr != nil {
			break
		}
	}
	if sqliteErr == nil || !diskFull(sqliteErr) {
		t.Fatalf("SQLite's full database not recognised: %v", sqliteErr)
	}

	clk := clock.NewManual(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	disk := NewDiskWatch("", 0, clk.Now)
	templates, _ := web.Templates()
	quiet := slog.New(slog.DiscardHandler)
	e := New(Deps{Log: quiet, Registry: prometheus.NewRegistry(), Checks: map[string]Check{"disk": disk.Check}, Disk: disk,
		Version: "test", MaxBodyBytes: 1024, MaxUploadBytes: 4096, RequestTimeout: 5 * time.Second, Templates: templates, Static: web.Static()})
	e.POST("/api/v1/fill-file", func(c *gin.Context) { renderError(quiet, c, fmt.Errorf("blobs: put: %w", syscall.ENOSPC)) })
	e.POST("/api/v1/fill-db", func(c *gin.Context) { renderError(quiet, c, fmt.Errorf("store: step: %w", sqliteErr)) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	ready := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := ready(); st != http.StatusOK {
		t.Fatalf("readyz before: %d", st)
	}
	for _, path := range []string{"/api/v1/fill-file", "/api/v1/fill-db"} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		d := decodeError(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || d.Code != CodeDiskFull || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %+v", path, resp.StatusCode, d)
		}
	}
	if st := ready(); st != http.StatusServiceUnavailable {
		t.Fatalf("readyz after a full disk: %d", st)
	}
	clk.Advance(diskFullHold + time.Second)
	if st := ready(); st != http.StatusOK {
		t.Fatalf("readyz after the hold: %d", st)
	}
	// Free space below the floor fails readiness on its own.
	if err := NewDiskWatch(t.TempDir(), 1<<62, clk.Now).Check(t.Context()); err == nil {
		t.Fatal("no space left reads as ready")
	}
}
