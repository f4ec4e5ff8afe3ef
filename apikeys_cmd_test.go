package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"realname/model"
	"realname/sandbox"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// TestAPIKeysCommand: create prints the key as its last line, and that key
// authenticates; list shows it without its secret; revoke ends it.
func TestAPIKeysCommand(t *testing.T) {
	dir := t.TempDir()
	env := []string{"REALNAME_DATA_DIR=" + dir}
	var out, errw bytes.Buffer
	if code := run([]string{"apikeys", "create", "--name", "crm", "--scopes", "verifications:read,events:read"}, env, &out, &errw); code != 0 {
		t.Fatalf("create: %d %s", code, errw.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "rnk_") {
		t.Fatalf("the last line is not the key: %q", out.String())
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := model.Open(context.Background(), "", dir, quiet, clock.System{}.Now)
	if err != nil {
		t.Fatal(err)
	}
	keys := apikey.New(apikey.Deps{DB: db, Trail: store.New(db, clock.System{}, quiet), PerSecond: 1, Apps: []string{sandbox.SandboxAppID}, Clock: clock.System{}, Log: quiet})
	k, err := keys.Authenticate(context.Background(), key)
	if err != nil || !k.Has(apikey.ScopeEventsRead) || k.Has(apikey.ScopeVerificationsWrite) {
		t.Fatalf("the printed key: %+v %v", k, err)
	}
	out.Reset()
	if code := run([]string{"apikeys", "list"}, env, &out, &errw); code != 0 || !strings.Contains(out.String(), k.Prefix) ||
		strings.Contains(out.String(), key) {
		t.Fatalf("list: %d %q", code, out.String())
	}
	if code := run([]string{"apikeys", "revoke", "--id", "1"}, env, &out, &errw); code != 0 {
		t.Fatalf("revoke: %d %s", code, errw.String())
	}
	if _, err := keys.Authenticate(context.Background(), key); err == nil {
		t.Fatal("the revoked key still authenticates")
	}
	if code := run([]string{"apikeys", "create", "--name", "x", "--scopes", "admin"}, env, io.Discard, &errw); code != 1 ||
		!strings.Contains(errw.String(), "unknown scope") {
		t.Fatalf("a bad scope: %d %s", code, errw.String())
	}
}

// TestAPIKeysCommandBindsAnApp: with one app (here the sandbox's) a key
// without --app is that app's; with two apps configured --app or
// --all-apps is required, an unknown app refused, and list says which app
// each key reaches.
func TestAPIKeysCommandBindsAnApp(t *testing.T) {
	dir := t.TempDir()
	var out, errw bytes.Buffer
	create := func(env []string, extra ...string) (int, string) {
		out.Reset()
		errw.Reset()
		args := append([]string{"apikeys", "create", "--name", "crm", "--scopes", "events:read"}, extra...)
		code := run(args, env, &out, &errw)
		return code, out.String() + errw.String()
	}
	one := []string{"REALNAME_DATA_DIR=" + dir}
	if code, said := create(one); code != 0 || !strings.Contains(said, "for "+sandbox.SandboxAppID) {
		t.Fatalf("one app: %d %s", code, said)
	}
	yaml := dir + "/two.yaml"
	if err := os.WriteFile(yaml, []byte("wechat:\n  apps:\n    - {appid: wxa0000000000001, secret: s1}\n    - {appid: wxb0000000000002, secret: s2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	two := append(one, "REALNAME_CONFIG="+yaml)
	for _, extra := range [][]string{nil, {"--app", "wxc"}, {"--app", "wxa0000000000001", "--all-apps"}} {
		if code, said := create(two, extra...); code != 1 || !strings.Contains(said, "app") {
			t.Errorf("two apps, %v: %d %s", extra, code, said)
		}
	}
	if code, said := create(two, "--app", "wxb0000000000002"); code != 0 || !strings.Contains(said, "for wxb0000000000002") {
		t.Errorf("two apps, --app: %d %s", code, said)
	}
	if code, said := create(two, "--all-apps"); code != 0 || !strings.Contains(said, "for all-apps") {
		t.Errorf("two apps, --all-apps: %d %s", code, said)
	}
	out.Reset()
	if code := run([]string{"apikeys", "list"}, two, &out, &errw); code != 0 || !strings.Contains(out.String(), "APP") ||
		!strings.Contains(out.String(), "wxb0000000000002") || !strings.Contains(out.String(), "all-apps") {
		t.Errorf("list: %d %s", code, out.String())
	}
}
