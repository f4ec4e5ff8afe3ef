package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"realname/service/redisconn/redistest"
	"realname/service/session"
)

// TestSessionsPerUserAreCapped: a login past the cap ends the user's
// oldest session; other users' sessions are untouched.
func TestSessionsPerUserAreCapped(t *testing.T) {
	conn := redistest.Open(t)
	s := session.NewStore(conn.Client, conn.Prefix, time.Hour, 3)
	ctx := context.Background()
	other, _, err := s.Create(ctx, 2, "wx")
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for range 5 {
		tok, _, err := s.Create(ctx, 1, "wx")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
		time.Sleep(2 * time.Millisecond) // distinct creation times order the index
	}
	for i, tok := range tokens {
		_, err := s.Lookup(ctx, tok)
		if i < 2 && !errors.Is(err, session.ErrNoSession) {
			t.Errorf("session %d survived past the cap: %v", i, err)
		}
		if i >= 2 && err != nil {
			t.Errorf("session %d ended: %v", i, err)
		}
	}
	if _, err := s.Lookup(ctx, other); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
}

// TestRevokeAllEndsEverySession: logout everywhere ends each session of
// the user, and only theirs; a single logout takes its token off the
// index.
func TestRevokeAllEndsEverySession(t *testing.T) {
	conn := redistest.Open(t)
	s := session.NewStore(conn.Client, conn.Prefix, time.Hour, 0)
	ctx := context.Background()
	other, _, _ := s.Create(ctx, 2, "wx")
	a, _, _ := s.Create(ctx, 1, "wx")
	b, _, _ := s.Create(ctx, 1, "wx")
	c, _, _ := s.Create(ctx, 1, "wx")
	if err := s.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeAll(ctx, 1)
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll: %d %v", n, err)
	}
	for _, tok := range []string{a, b, c} {
		if _, err := s.Lookup(ctx, tok); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("a session lives on: %v", err)
		}
	}
	if _, err := s.Lookup(ctx, other); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
}
