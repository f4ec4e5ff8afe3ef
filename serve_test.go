package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"realname/config"
	"realname/service/redisconn/redistest"
	"realname/service/tracing"
)

// TestServeStopsWhenAComponentCannotStart: a metrics port that is taken
// fails the start before the API listens, and what had started (the
// database, Redis, the workers) is stopped, last started first.
func TestServeStopsWhenAComponentCannotStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	rdb := redistest.Open(t)
	cfg := config.Default()
	cfg.HTTPAddr = freeAddr(t)
	cfg.MetricsAddr = taken.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.RedisURL = os.Getenv("REALNAME_TEST_REDIS")
	cfg.RedisPrefix = rdb.Prefix
	cfg.LogLevel = "debug"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	err = serve(context.Background(), cfg, testClock(), newLogger(cfg.LogLevel, &logs), tracing.Off())
	if err == nil || !strings.Contains(err.Error(), "start metrics listener") {
		t.Fatalf("serve: %v", err)
	}
	if ln, err := net.Listen("tcp", cfg.HTTPAddr); err != nil {
		t.Errorf("the API listened although the start failed: %v", err)
	} else {
		ln.Close()
	}
	// The stops, in the order they were logged.
	var stopped []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"component stopped"`) {
			i := strings.Index(line, `"component":"`) + len(`"component":"`)
			stopped = append(stopped, line[i:i+strings.Index(line[i:], `"`)])
		}
	}
	want := []string{"api key use pruning", "sweeper", "webhook dispatcher", "token invalidations", "sandbox", "wake listeners", "redis", "database"}
	if strings.Join(stopped, ",") != strings.Join(want, ",") {
		t.Errorf("stopped %q, want %q; logs:\n%s", stopped, want, logs.String())
	}
}

// TestTemplateSourcesCheckedAtStart: the configuration checks the shape
// of the review template's fields, the notification service the sources,
// before anything opens.
func TestTemplateSourcesCheckedAtStart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.WeChat.ReviewTemplateFields = "phrase1=result,thing2=shoe_size"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	err := serve(context.Background(), cfg, testClock(), slog.New(slog.NewJSONHandler(&logs, nil)), tracing.Off())
	if err == nil || !strings.Contains(err.Error(), "REALNAME_WECHAT_REVIEW_TEMPLATE_FIELDS") {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(cfg.DataDir + "/master.key"); err == nil {
		t.Error("serve opened the stores before it read the settings")
	}
}
