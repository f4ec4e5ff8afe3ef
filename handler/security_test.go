package handler

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"realname/web"
)

// securityEngine is the whole router with the Mini Program API, the server
// API and the static files mounted.
func securityEngine(t *testing.T, mod func(*Deps)) *gin.Engine {
	t.Helper()
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Version: "test",
		MaxBodyBytes: 4096, MaxUploadBytes: 4096, RequestTimeout: 5 * time.Second, Templates: templates, Static: web.Static(),
		Login: oasLogin{}, Sessions: oasSessions{}, Verify: oasVerifier{}, DefaultAppID: "wxdefault",
		Server: &ServerAPI{Keys: &fakeKeys{allowed: true}, Verifications: &fakeServerVerifications{}, Events: &fakeFeed{}}}
	if mod != nil {
		mod(&d)
	}
	return New(d)
}

func serve(e *gin.Engine, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// TestSecurityHeadersEverywhere: every answer, errors and unknown routes
// included, refuses sniffing, framing and referrers; the JSON APIs are
// never cached.
func TestSecurityHeadersEverywhere(t *testing.T) {
	e := securityEngine(t, nil)
	for _, tc := range []struct {
		method, path string
		noStore      bool
	}{
		{"GET", "/healthz", false},
		{"GET", "/", false},
		{"GET", "/static/admin.css", false},
		{"GET", "/nowhere", false},
		{"GET", "/api/v1/verification", true}, // 401, no session
		{"POST", "/api/v1/session", true},     // 400, no body
		{"GET", "/api/v1/nowhere", true},      // 404
		{"DELETE", "/api/v1/session/x", true}, // 404
		{"GET", "/api", true},
		{"GET", "/server/v1/users/o1/verification", true}, // 401, no key
		{"GET", "/server/v1/nowhere", true},
		{"GET", "/internal/v1/wechat/token", true},
	} {
		w := serve(e, httptest.NewRequest(tc.method, tc.path, nil))
		h := w.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s %s (%d): headers %v", tc.method, tc.path, w.Code, h)
		}
		if got := h.Get("Cache-Control") == "no-store"; got != tc.noStore {
			t.Errorf("%s %s (%d): Cache-Control %q", tc.method, tc.path, w.Code, h.Get("Cache-Control"))
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", tc.method, tc.path)
		}
	}
}

// TestStaticHasNoListing: files are served, folders are a 404.
func TestStaticHasNoListing(t *testing.T) {
	e := securityEngine(t, nil)
	for path, want := range map[string]int{"/static/admin.css": 200, "/static/": 404, "/static": 404, "/static/./": 404,
		"/static/../static/": 404, "/static/nope.css": 404, "/static/%2e%2e/web.go": 404} {
		w := serve(e, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want || (want == 404 && strings.Contains(w.Body.String(), "admin.css")) {
			t.Errorf("GET %s: %d %.80q, want %d", path, w.Code, w.Body.String(), want)
		}
	}
	if w := serve(e, httptest.NewRequest(http.MethodHead, "/static/admin.js", nil)); w.Code != 200 {
		t.Errorf("HEAD a static file: %d", w.Code)
	}
}

// TestHSTS: sent when the browser is on TLS, as the policy judges it.
func TestHSTS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy TLSPolicy
		tls    bool
		proto  string
		want   bool
	}{
		{"own TLS", TLSPolicy{Production: true}, true, "", true},
		{"plain", TLSPolicy{}, false, "", false},
		{"development proxy", TLSPolicy{}, false, "https", true},
		{"production, proxy not declared", TLSPolicy{Production: true}, false, "https", false},
		{"production behind a declared proxy", TLSPolicy{Production: true, BehindTLSProxy: true}, false, "https", true},
		{"declared proxy says http", TLSPolicy{Production: true, BehindTLSProxy: true}, false, "http", false},
	} {
		e := securityEngine(t, func(d *Deps) { d.TLS = tc.policy })
		r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		got := serve(e, r).Header().Get("Strict-Transport-Security")
		if (got == "max-age=31536000") != tc.want {
			t.Errorf("%s: HSTS %q, want it %v", tc.name, got, tc.want)
		}
	}
}

// TestMetricsElsewhere: with its own listener, /metrics is off the main one.
func TestMetricsElsewhere(t *testing.T) {
	if w := serve(securityEngine(t, nil), httptest.NewRequest(http.MethodGet, "/metrics", nil)); w.Code != 200 {
		t.Fatalf("/metrics on the main listener: %d", w.Code)
	}
	e := securityEngine(t, func(d *Deps) { d.MetricsElsewhere = true })
	if w := serve(e, httptest.NewRequest(http.MethodGet, "/metrics", nil)); w.Code != 404 {
		t.Fatalf("/metrics still on the main listener: %d", w.Code)
	}
}
