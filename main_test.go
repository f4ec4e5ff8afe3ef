package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/service/redisconn/redistest"
)

func TestHelpShowsVariablesNotSecrets(t *testing.T) {
	var out, errw bytes.Buffer
	env := []string{"REALNAME_WECHAT_SECRET=topsecret", "REALNAME_MASTER_KEY=k1:topsecretkey"}
	if code := run([]string{"serve", "--help"}, env, &out, &errw); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := out.String() + errw.String()
	for _, want := range []string{"-sandbox", "REALNAME_HTTP_ADDR", "REALNAME_DATABASE_URL", "REALNAME_MASTER_KEY", "(secret)"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %s", want)
		}
	}
	if strings.Contains(help, "topsecret") {
		t.Error("help shows a secret")
	}
	for _, args := range [][]string{{"migrate", "--help"}, {"version"}, {"help"}} {
		if code := run(args, nil, io.Discard, io.Discard); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	if code := run([]string{"frobnicate"}, nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	errw.Reset()
	if code := run([]string{"serve"}, []string{"REALNAME_HTTP_ADR=:1"}, io.Discard, &errw); code != 1 || !strings.Contains(errw.String(), "REALNAME_HTTP_ADR") {
		t.Errorf("bad config: exit %d, %s", code, errw.String())
	}
}

// TestServeOnEveryBackend starts the real service on each database with the
// test Redis, checks it is ready, then stops it as SIGTERM would.
func TestServeOnEveryBackend(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, dsn := modeltest.OpenDSN(t, b, false) // serve must migrate it itself
			if b.Name == model.DialectSQLite {
				dsn = "" // serve's own default: a SQLite file in DATA_DIR
			}
			rdb := redistest.Open(t)
			cfg := config.Default()
			cfg.HTTPAddr = freeAddr(t)
			cfg.DataDir = t.TempDir()
			cfg.DatabaseURL = dsn
			cfg.RedisURL = os.Getenv("REALNAME_TEST_REDIS")
			cfg.RedisPrefix = rdb.Prefix
			cfg.ShutdownTimeout = 5 * time.Second
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil))) }()
			url := "http://" + cfg.HTTPAddr
			var status int
			for i := 0; i < 100; i++ {
				if resp, err := http.Get(url + "/readyz"); err == nil {
					status = resp.StatusCode
					resp.Body.Close()
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if status != http.StatusOK {
				t.Fatalf("readyz = %d; logs:\n%s", status, logs.String())
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "master.key")); err != nil {
				t.Errorf("development master key not generated: %v", err)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop")
			}
			if !strings.Contains(logs.String(), `"msg":"stopped"`) {
				t.Errorf("no clean stop in logs:\n%s", logs.String())
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
