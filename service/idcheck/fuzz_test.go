package idcheck

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// FuzzAcedataAnswer: whatever the name/ID vendor answers becomes one of
// the five outcomes or "unavailable"/"limit", never a guess or a panic;
// and only the two verdicts the document bills are marked charged.
func FuzzAcedataAnswer(f *testing.F) {
	for _, b := range []string{`{"result":0}`, `{"result":"-1"}`, `{"result":-5}`, `{"result":-7}`, `{"result":"x"}`, `{"result":" 0 "}`, `{"result":"-7"}`, `{"result":""}`, `{"result":"0.0"}`, `{"error":{"code":"api_not_implemented"}}`, `{"result":1e400}`} {
		f.Add(200, []byte(b))
	}
	f.Add(429, []byte(`{"error":{"code":"too_many_requests"}}`))
	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		s, b := status, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	p, err := NewAcedata(srv.URL, "k", srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s int, b []byte) {
		if s < 200 || s > 599 {
			s = 200
		}
		mu.Lock()
		status, body = s, b
		mu.Unlock()
		res, err := p.Check(context.Background(), "林浩然", "110101199005142138")
		if err != nil {
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrLimit) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		switch res.Outcome {
		case Match, Mismatch:
			if !res.Charged {
				t.Fatalf("%s not charged", res.Outcome)
			}
		case NoRecord, InvalidID, InvalidName:
			if res.Charged {
				t.Fatalf("%s charged", res.Outcome)
			}
		default:
			t.Fatalf("outcome %q", res.Outcome)
		}
	})
}
