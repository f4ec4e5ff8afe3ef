package handler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/service/apikey"
	"realname/service/verify"
	"realname/service/webhook"
	"realname/web"
)

type fakeKeys struct {
	mu      sync.Mutex
	allowed bool
	uses    []apikey.Use
	refused int
}

func (f *fakeKeys) Authenticate(_ context.Context, raw string) (apikey.Key, error) {
	switch raw {
	case "rnk_read":
		return apikey.Key{ID: 1, Scopes: []string{apikey.ScopeVerificationsRead}}, nil
	case "rnk_all":
		return apikey.Key{ID: 2, Scopes: apikey.Scopes(), AppID: apikey.AllApps}, nil
	case "rnk_appa":
		return apikey.Key{ID: 3, Scopes: apikey.Scopes(), AppID: "wxa"}, nil
	}
	return apikey.Key{}, apikey.ErrInvalidKey
}

func (f *fakeKeys) Admit(_ context.Context, k apikey.Key, scope string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused++
	if !f.allowed {
		return &apikey.LimitError{RetryAfter: 1500 * time.Millisecond}
	}
	if !k.Has(scope) {
		return apikey.ErrScope
	}
	f.refused--
	return nil
}

func (f *fakeKeys) RecordUse(_ context.Context, u apikey.Use, _ *time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uses = append(f.uses, u)
	return nil
}

type fakeServerVerifications struct{ subj verify.Subject }

func (f *fakeServerVerifications) ServerStatus(_ context.Context, subj verify.Subject, app string) (verify.ServerView, error) {
	f.subj = subj
	if subj.OpenID == "ghost" {
		return verify.ServerView{}, verify.ErrNoUser
	}
	if subj.OpenID != "-" && subj.OpenID != "" && subj.UnionID == "u-other" {
		return verify.ServerView{}, verify.ErrSubjectConflict
	}
	return verify.ServerView{VerificationID: 9, AppID: app, OpenID: subj.OpenID, State: "verified", Version: 3, Final: true}, nil
}

func (f *fakeServerVerifications) Revoke(_ context.Context, subj verify.Subject, app, reason, actor string) (verify.ServerView, error) {
	if reason == "" {
		return verify.ServerView{}, verify.ErrRevokeReason
	}
	if subj.UnionID == "u-other" {
		return verify.ServerView{}, verify.ErrSubjectConflict
	}
	return verify.ServerView{VerificationID: 9, OpenID: subj.OpenID, State: "revoked", Reason: actor}, nil
}

type fakeFeed struct{ q webhook.FeedQuery }

func (f *fakeFeed) Feed(_ context.Context, q webhook.FeedQuery) (webhook.FeedPage, error) {
	f.q = q
	switch q.After {
	case 1:
		return webhook.FeedPage{}, webhook.ErrCursorExpired
	case 99:
		return webhook.FeedPage{}, webhook.ErrCursorAhead
	}
	return webhook.FeedPage{Events: []json.RawMessage{json.RawMessage(`{"id":"evt_1"}`)}, Next: 42}, nil
}

func (f *fakeFeed) FeedWait(ctx context.Context, q webhook.FeedQuery, _ time.Duration) (webhook.FeedPage, error) {
	return f.Feed(ctx, q)
}

func TestServerAPIAnswers(t *testing.T) {
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	keys, vs, feed := &fakeKeys{allowed: true}, &fakeServerVerifications{}, &fakeFeed{}
	e := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Templates: templates,
		Static: web.Static(), MaxBodyBytes: 4096, MaxUploadBytes: 4096, RequestTimeout: 5 * time.Second, DefaultAppID: "wxdefault",
		Server: &ServerAPI{Keys: keys, Verifications: vs, Events: feed}})
	do := func(method, path, key, body string) (int, string, http.Header) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w.Code, w.Body.String(), w.Header()
	}
	for _, tc := range []struct {
		method, path, key, body string
		status                  int
		want                    string
	}{
		{"GET", "/server/v1/users/o1/verification", "", "", 401, "api_key_required"},
		{"GET", "/server/v1/users/o1/verification", "rnk_nope", "", 401, "invalid_api_key"},
		{"GET", "/server/v1/users/o1/verification", "rnk_read", "", 200, `"appid":"wxdefault"`},
		{"GET", "/server/v1/users/o1/verification?appid=wxother", "rnk_read", "", 200, `"state":"verified"`},
		{"GET", "/server/v1/users/ghost/verification", "rnk_read", "", 404, "user_not_found"},
		{"GET", "/server/v1/users/-/verification", "rnk_read", "", 400, "invalid_request"},
		{"GET", "/server/v1/users/-/verification?unionid=u1", "rnk_read", "", 200, `"state":"verified"`},
		{"GET", "/server/v1/users/" + strings.Repeat("o", 200) + "/verification", "rnk_read", "", 400, "invalid_request"},
		{"GET", "/server/v1/events", "rnk_read", "", 403, "insufficient_scope"},
		{"GET", "/server/v1/events", "rnk_all", "", 200, `"next":"42"`},
		{"GET", "/server/v1/events?after=abc", "rnk_all", "", 400, "invalid_cursor"},
		{"GET", "/server/v1/events?after=-5", "rnk_all", "", 400, "invalid_cursor"},
		{"GET", "/server/v1/events?after=1", "rnk_all", "", 410, "cursor_expired"},
		{"GET", "/server/v1/events?after=99", "rnk_all", "", 400, "invalid_cursor"},
		{"GET", "/server/v1/events?limit=501", "rnk_all", "", 400, "invalid_request"},
		{"GET", "/server/v1/events?type=nope", "rnk_all", "", 400, "invalid_request"},
		{"POST", "/server/v1/users/o1/verification/revoke", "rnk_read", `{"reason":"x"}`, 403, "insufficient_scope"},
		{"POST", "/server/v1/users/o1/verification/revoke", "rnk_all", `{"reason":""}`, 422, "reason_required"},
		{"POST", "/server/v1/users/o1/verification/revoke", "rnk_all", `{"why":"x"}`, 400, "unknown_field"},
		{"POST", "/server/v1/users/o1/verification/revoke", "rnk_all", `{"reason":"fraud"}`, 200, `"reason":"apikey:2"`},
		{"GET", "/server/v1/users/o1/verification?unionid=u-other", "rnk_read", "", 400, "subject_conflict"},
		{"POST", "/server/v1/users/o1/verification/revoke?unionid=u-other", "rnk_all", `{"reason":"fraud"}`, 400, "subject_conflict"},
	} {
		st, body, _ := do(tc.method, tc.path, tc.key, tc.body)
		if st != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s (%s): %d %s, want %d with %s", tc.method, tc.path, tc.key, st, body, tc.status, tc.want)
		}
	}
	if _, _, _ = do("GET", "/server/v1/events", "rnk_all", ""); feed.q.After != -1 || feed.q.AppID != "" {
		t.Errorf("no after reads %+v, want from -1 (the oldest kept), every app", feed.q)
	}
	// A key bound to an app reads that app's events and users only.
	if _, _, _ = do("GET", "/server/v1/events?after=5", "rnk_appa", ""); feed.q.AppID != "wxa" || feed.q.After != 5 {
		t.Errorf("the feed of a key of wxa: %+v", feed.q)
	}
	if _, _, _ = do("GET", "/server/v1/users/o1/verification?appid=wxb", "rnk_appa", ""); vs.subj.Within != "wxa" || vs.subj.AppID != "wxb" {
		t.Errorf("a lookup with a key of wxa: %+v", vs.subj)
	}
	if _, _, _ = do("GET", "/server/v1/users/o1/verification", "rnk_all", ""); vs.subj.Within != "" {
		t.Errorf("a lookup with an all-apps key: %+v", vs.subj)
	}
	keys.allowed = false
	st, body, h := do("GET", "/server/v1/users/o1/verification", "rnk_read", "")
	if st != 429 || !strings.Contains(body, "rate_limited") || h.Get("Retry-After") != "2" {
		t.Errorf("over the rate: %d %s Retry-After %q", st, body, h.Get("Retry-After"))
	}
	// Every request let through is recorded, by route, with its answer;
	// the refused ones (scope, rate) are left to the key service to count.
	keys.mu.Lock()
	defer keys.mu.Unlock()
	if len(keys.uses) < 15 || keys.refused != 3 {
		t.Fatalf("%d uses recorded, %d refused", len(keys.uses), keys.refused)
	}
	for _, u := range keys.uses {
		if strings.Contains(u.Route, "o1") || u.Route == "" || u.Status == 0 || u.RequestID == "" {
			t.Errorf("use %+v", u)
		}
	}
	for _, u := range keys.uses {
		if u.Status == 403 || u.Status == 429 {
			t.Errorf("a refused request is recorded as a use: %+v", u)
		}
	}
}

func TestIndexSpeaksTheReadersLanguage(t *testing.T) {
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	e := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Templates: templates,
		Static: web.Static(), MaxBodyBytes: 4096, MaxUploadBytes: 4096, RequestTimeout: 5 * time.Second})
	for accept, want := range map[string]string{"": `<html lang="zh-CN">`, "en-GB,en;q=0.8": `<html lang="en">`} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept-Language", accept)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("Accept-Language %q: want %s", accept, want)
		}
	}
}

// TestServerAPIErrorsSpeakTheCallersLanguage: error messages are Chinese
// by default and English when the caller prefers it; the code stays.
func TestServerAPIErrorsSpeakTheCallersLanguage(t *testing.T) {
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	e := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Templates: templates,
		Static: web.Static(), MaxBodyBytes: 4096, MaxUploadBytes: 4096, RequestTimeout: 5 * time.Second, DefaultAppID: "wxdefault",
		Server: &ServerAPI{Keys: &fakeKeys{allowed: true}, Verifications: &fakeServerVerifications{}, Events: &fakeFeed{}}})
	for _, tc := range []struct{ path, accept, code, want string }{
		{"/server/v1/events?after=99", "", "invalid_cursor", "游标"},
		{"/server/v1/events?after=99", "en", "invalid_cursor", "after must be a cursor"},
		{"/server/v1/events?after=1", "zh-CN", "cursor_expired", "保留期"},
		{"/server/v1/events?type=nope", "", "invalid_request", "未知的事件类型；已知类型：verification."},
		{"/server/v1/users/ghost/verification", "", "user_not_found", "没有"},
		{"/server/v1/users/ghost/verification", "en-US,en;q=0.9", "user_not_found", "no user"},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("Authorization", "Bearer rnk_all")
		req.Header.Set("Accept-Language", tc.accept)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		var body ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.want) {
			t.Errorf("%s (%q): %s, want %s with %q", tc.path, tc.accept, w.Body.String(), tc.code, tc.want)
		}
	}
}
