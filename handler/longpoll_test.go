package handler

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/service/webhook"
	"realname/web"
)

// heldFeed holds every long-poll until released.
type heldFeed struct {
	fakeFeed
	release chan struct{}
	entered chan struct{}
}

func (f *heldFeed) FeedWait(ctx context.Context, q webhook.FeedQuery, wait time.Duration) (webhook.FeedPage, error) {
	f.entered <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
	}
	return webhook.FeedPage{Next: 7}, nil
}

// TestLongPollBounds: wait is a duration up to 25s; one API key holds at
// most maxWaitersPerKey long-polls at once, the next gets a clear 429.
func TestLongPollBounds(t *testing.T) {
	templates, _ := web.Templates()
	feed := &heldFeed{release: make(chan struct{}), entered: make(chan struct{}, 2*maxWaitersPerKey)}
	e := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Templates: templates,
		Static: web.Static(), MaxBodyBytes: 4096, MaxUploadBytes: 4096, RequestTimeout: 30 * time.Second, DefaultAppID: "wxdefault",
		Server: &ServerAPI{Keys: &fakeKeys{allowed: true}, Verifications: &fakeServerVerifications{}, Events: feed}})
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer rnk_all")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w
	}
	for _, bad := range []string{"forever", "-1s", "26s", "1h"} {
		if w := get("/server/v1/events?wait=" + bad); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_request") {
			t.Errorf("wait=%s: %d %s", bad, w.Code, w.Body)
		}
	}
	answers := make(chan int, maxWaitersPerKey)
	for range maxWaitersPerKey {
		go func() { answers <- get("/server/v1/events?wait=25s").Code }()
	}
	for range maxWaitersPerKey {
		<-feed.entered
	}
	if w := get("/server/v1/events?wait=25s"); w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "too_many_waiters") ||
		w.Header().Get("Retry-After") == "" {
		t.Fatalf("one waiter too many: %d %s", w.Code, w.Body)
	}
	close(feed.release)
	for range maxWaitersPerKey {
		if code := <-answers; code != http.StatusOK {
			t.Errorf("a long-poll answered %d", code)
		}
	}
	// Places come back once the waits end.
	if w := get("/server/v1/events?wait=1s"); w.Code != http.StatusOK {
		t.Fatalf("after the waits: %d %s", w.Code, w.Body)
	}
}
