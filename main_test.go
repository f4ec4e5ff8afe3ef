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
	"strconv"
	"strings"
	"testing"
	"time"

	"encoding/json"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/redisconn/redistest"
	"realname/service/tracing"
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
			cfg.WeChat.TokenServerSecret = tokenSecret
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, testClock(), slog.New(slog.NewJSONHandler(&logs, nil)), tracing.Off()) }()
			url := "http://" + cfg.HTTPAddr
			var status int
			for i := 0; i < 600; i++ { // up to 30 s: CI machines can be slow
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
			checkLogin(t, url, b.Name)
			checkTokenServer(t, url)
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "master.key")); err != nil {
				t.Errorf("development master key not generated: %v", err)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve returned %v", err)
				}
			case <-time.After(30 * time.Second):
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

const tokenSecret = "test-token-server-secret-0123456789abcdef"

// call sends a JSON request and decodes the JSON answer into out.
func call(t *testing.T, method, url, bearer string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, undecodable body: %v", method, url, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct{ Code string } `json:"error"`
}

// checkLogin logs a Mini Program user in through the sandbox WeChat, uses
// the session, logs out, and checks bad codes get our error codes.
func checkLogin(t *testing.T, url, backend string) {
	t.Helper()
	var sess struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	code := "alice-" + backend + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if st := call(t, "POST", url+"/api/v1/session", "", map[string]string{"code": code}, &sess); st != http.StatusCreated || len(sess.Token) < 22 {
		t.Fatalf("login: %d %+v", st, sess)
	}
	if time.Until(sess.ExpiresAt) < time.Hour {
		t.Errorf("session expires at %v", sess.ExpiresAt)
	}
	// A second login of the same user (another code) is the same user row.
	var again struct{ Token string }
	if st := call(t, "POST", url+"/api/v1/session", "", map[string]string{"code": code + "-2"}, &again); st != http.StatusCreated {
		t.Fatalf("second login: %d", st)
	}
	var e apiError
	if st := call(t, "POST", url+"/api/v1/session", "", map[string]string{"code": code}, &e); st != http.StatusUnauthorized || e.Error.Code != "invalid_code" {
		t.Errorf("reused code: %d %q", st, e.Error.Code)
	}
	for _, c := range []struct {
		code   string
		status int
		want   string
	}{
		{"invalid-abc", http.StatusUnauthorized, "invalid_code"},
		{"ratelimit-abc", http.StatusTooManyRequests, "rate_limited"},
		{"risky-abc", http.StatusForbidden, "risky_user"},
		{"", http.StatusBadRequest, "invalid_code"},
	} {
		e = apiError{}
		if st := call(t, "POST", url+"/api/v1/session", "", map[string]string{"code": c.code}, &e); st != c.status || e.Error.Code != c.want {
			t.Errorf("code %q: %d %q, want %d %q", c.code, st, e.Error.Code, c.status, c.want)
		}
	}
	var shown struct{ Token string }
	if st := call(t, "GET", url+"/api/v1/session", sess.Token, nil, &shown); st != http.StatusOK || shown.Token != "" {
		t.Fatalf("authenticated GET: %d, token echoed: %v", st, shown.Token != "")
	}
	if st := call(t, "GET", url+"/api/v1/session", "", nil, &e); st != http.StatusUnauthorized {
		t.Errorf("no bearer: %d", st)
	}
	if st := call(t, "DELETE", url+"/api/v1/session", sess.Token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	if st := call(t, "GET", url+"/api/v1/session", sess.Token, nil, &e); st != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
		t.Errorf("after logout: %d %q", st, e.Error.Code)
	}
	if st := call(t, "GET", url+"/api/v1/session", again.Token, nil, nil); st != http.StatusOK {
		t.Errorf("the other session ended too: %d", st)
	}
	// Logout everywhere, from a third session: every session ends.
	var third struct{ Token string }
	if st := call(t, "POST", url+"/api/v1/session", "", map[string]string{"code": code + "-3"}, &third); st != http.StatusCreated {
		t.Fatalf("third login: %d", st)
	}
	if st := call(t, "DELETE", url+"/api/v1/sessions", third.Token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("logout everywhere: %d", st)
	}
	for _, tok := range []string{again.Token, third.Token} {
		if st := call(t, "GET", url+"/api/v1/session", tok, nil, nil); st != http.StatusUnauthorized {
			t.Errorf("a session lives on after logout everywhere: %d", st)
		}
	}
}

// checkTokenServer fetches the access_token through the central token
// endpoint, reports it rejected, and gets a different one.
func checkTokenServer(t *testing.T, url string) {
	t.Helper()
	var e apiError
	if st := call(t, "GET", url+"/internal/v1/wechat/token", "wrong", nil, &e); st != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", st)
	}
	var tok struct {
		AppID       string `json:"appid"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if st := call(t, "GET", url+"/internal/v1/wechat/token", tokenSecret, nil, &tok); st != http.StatusOK || tok.AccessToken == "" || tok.ExpiresIn < 3600 {
		t.Fatalf("token: %d %+v", st, tok.ExpiresIn)
	}
	if st := call(t, "GET", url+"/internal/v1/wechat/token?appid=wxnope", tokenSecret, nil, &e); st != http.StatusNotFound || e.Error.Code != "unknown_app" {
		t.Errorf("unknown app: %d %q", st, e.Error.Code)
	}
	first := tok.AccessToken
	if st := call(t, "POST", url+"/internal/v1/wechat/token/invalidate", tokenSecret, map[string]string{"access_token": first}, nil); st != http.StatusNoContent {
		t.Fatalf("invalidate: %d", st)
	}
	if st := call(t, "GET", url+"/internal/v1/wechat/token", tokenSecret, nil, &tok); st != http.StatusOK || tok.AccessToken == first {
		t.Fatalf("after invalidate: %d, same token: %v", st, tok.AccessToken == first)
	}
}

// testClock is the servers' clock under test: a fixed calendar (the
// sample cards' validity and the holders' ages do not change with the day
// the suite runs), running at the wall clock's pace.
func testClock() *clock.Running {
	return clock.NewRunning(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
}
