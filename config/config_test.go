package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.DataDir != "./data" || cfg.DatabaseURL != "" || cfg.RedisURL != "" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if !cfg.SandboxMode() {
		t.Fatal("no WeChat app id must mean sandbox mode")
	}
}

func TestEnvWinsOverYAML(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	yml := "http_addr: \":9000\"\nlog_level: debug\nrequest_timeout: 5s\nwechat:\n  apps:\n    - {appid: wx1, secret: s1}\n    - {appid: wx2, secret: s2}\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"REALNAME_CONFIG=" + path, "REALNAME_HTTP_ADDR=:9100", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":9100" {
		t.Errorf("env must win: %q", cfg.HTTPAddr)
	}
	if cfg.LogLevel != "debug" || cfg.RequestTimeout != 5*time.Second || len(cfg.WeChat.Apps) != 2 {
		t.Errorf("yaml not applied: %+v", cfg)
	}
	if cfg.DataDir != "./data" {
		t.Errorf("defaults must survive a file that does not set them: %q", cfg.DataDir)
	}
	if cfg.SandboxMode() {
		t.Error("configured apps must turn the automatic sandbox off")
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"REALNAME_WECHAT_APPID=wx1", "REALNAME_WECHAT_SECRET_FILE=" + path})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WeChat.Secret != "s3cret" {
		t.Fatalf("secret = %q", cfg.WeChat.Secret)
	}
}

func TestBadInputNamesTheVariable(t *testing.T) {
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"REALNAME_HTTP_ADR=:1"}, "REALNAME_HTTP_ADR: unknown variable"},
		{[]string{"REALNAME_MAX_BODY_BYTES=lots"}, "REALNAME_MAX_BODY_BYTES: not an integer"},
		{[]string{"REALNAME_REQUEST_TIMEOUT=5"}, "REALNAME_REQUEST_TIMEOUT: not a duration"},
		{[]string{"REALNAME_SANDBOX=maybe"}, "REALNAME_SANDBOX: not a boolean"},
		{[]string{"REALNAME_ENV=staging"}, "REALNAME_ENV: must be"},
		{[]string{"REALNAME_DATABASE_URL=oracle://x"}, "REALNAME_DATABASE_URL: must be"},
		{[]string{"REALNAME_WECHAT_APPID=wx1"}, "REALNAME_WECHAT_SECRET: is required"},
		{[]string{"REALNAME_OCR_ORDER=wechat,tesseract"}, `REALNAME_OCR_ORDER: unknown provider "tesseract"`},
		{[]string{"REALNAME_WECHAT_TOKEN_MODE=fast"}, "REALNAME_WECHAT_TOKEN_MODE"},
		{[]string{"REALNAME_ENV=production"}, "REALNAME_MASTER_KEY: is required in production"},
		{[]string{"REALNAME_ENV=production", "REALNAME_SANDBOX=true"}, "REALNAME_SANDBOX: cannot be on in production"},
		{[]string{"REALNAME_CONFIG=/nonexistent.yaml"}, "REALNAME_CONFIG"},
		{[]string{"REALNAME_POLICY_STUCK_CHECKING=30s"}, "REALNAME_POLICY_STUCK_CHECKING: must be at least 2m"},
		{[]string{"REALNAME_WEBHOOK_RETENTION=1h"}, "REALNAME_WEBHOOK_RETENTION: must be"},
		{[]string{"REALNAME_PPROF_ADDR=0.0.0.0:6060"}, "REALNAME_PPROF_ADDR: must be a loopback"},
		{[]string{"REALNAME_PPROF_ADDR=:6060"}, "REALNAME_PPROF_ADDR: must be a loopback"},
		{[]string{"REALNAME_PPROF_ADDR=6060"}, "REALNAME_PPROF_ADDR: must be a loopback"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Load(tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestUnknownYAMLKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("http_adr: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load([]string{"REALNAME_CONFIG=" + path})
	if err == nil || !strings.Contains(err.Error(), "http_adr") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	cfg, err := Load([]string{
		"REALNAME_WECHAT_APPID=wx1", "REALNAME_WECHAT_SECRET=topsecret-wechat",
		"REALNAME_DATABASE_URL=postgres://u:topsecret-db@h/db", "REALNAME_MASTER_KEY=k1:topsecret-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	for _, f := range Fields() {
		buf.WriteString(f.Key + f.Default + f.Help)
	}
	if strings.Contains(buf.String(), "topsecret") {
		t.Fatalf("secret leaked: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"WECHAT_APPID":"wx1"`) {
		t.Fatalf("non-secret values should be logged: %s", buf.String())
	}
}

func TestPprofAddrOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060"} {
		if _, err := Load([]string{"REALNAME_PPROF_ADDR=" + addr}); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
