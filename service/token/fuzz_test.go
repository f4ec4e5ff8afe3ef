package token_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"realname/service/token"
)

// FuzzFetchAnswer: whatever stable_token answers, a token comes back only
// when it is a plausible one (printable, no characters that would change
// the URL it is put in) with a lifetime in the future and within a day.
func FuzzFetchAnswer(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"ACCESS_TOKEN-abc_123","expires_in":7200}`))
	f.Add(200, []byte(`{"errcode":40013,"errmsg":"invalid appid"}`))
	// errcode as a string: "0" is success like 0; a non-numeric one fails.
	f.Add(200, []byte(`{"errcode":"0","errmsg":"ok","access_token":"ACCESS_TOKEN","expires_in":7200}`))
	f.Add(200, []byte(`{"errcode":"40013","errmsg":"invalid appid"}`))
	f.Add(200, []byte(`{"errcode":"ok","access_token":"ACCESS_TOKEN","expires_in":7200}`))
	f.Add(200, []byte(`{"access_token":"x","expires_in":9223372036}`))
	f.Add(200, []byte(`{"access_token":"a&b=c#d","expires_in":7200}`))
	f.Add(503, []byte(``))
	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		s, b := status, body
		mu.Unlock()
		w.WriteHeader(s)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	fetch := token.NewWeChatFetcher(srv.URL, token.ModeStable)
	fetch.Now = func() time.Time { return now }
	f.Fuzz(func(t *testing.T, s int, b []byte) {
		if s < 200 || s > 599 {
			s = 200
		}
		mu.Lock()
		status, body = s, b
		mu.Unlock()
		tok, err := fetch.Fetch(context.Background(), token.App{AppID: "wx1", Secret: "s"}, false)
		if err != nil {
			return
		}
		if tok.Value == "" || len(tok.Value) > 512 || strings.ContainsAny(tok.Value, "&#?=% /\\\"'<>") {
			t.Fatalf("token %q accepted", tok.Value)
		}
		for _, r := range tok.Value {
			if r < 0x21 || r > 0x7e {
				t.Fatalf("token %q accepted", tok.Value)
			}
		}
		if !tok.ExpiresAt.After(now) || tok.ExpiresAt.After(now.Add(24*time.Hour)) {
			t.Fatalf("expires at %v for an answer at %v", tok.ExpiresAt, now)
		}
	})
}
