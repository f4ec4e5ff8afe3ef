package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"realname/model"
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
	keys := apikey.New(store.New(db, clock.System{}, quiet), nil, "", 1, clock.System{}, quiet)
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
