package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gorm.io/gorm"

	"realname/model/modeltest"
	"realname/service/redisconn/redistest"
	"realname/web"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

type testServer struct {
	*httptest.Server
	engine *gin.Engine
	logs   *bytes.Buffer
}

func newTestServer(t *testing.T, checks map[string]Check) *testServer {
	t.Helper()
	logs := &bytes.Buffer{}
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	e := New(Deps{
		Log:            slog.New(slog.NewJSONHandler(logs, nil)),
		Registry:       reg,
		Checks:         checks,
		Version:        "test",
		MaxBodyBytes:   1024,
		MaxUploadBytes: 4096,
		RequestTimeout: 5 * time.Second,
		Templates:      templates,
		Static:         web.Static(),
	})
	e.POST("/echo", func(c *gin.Context) {
		var body struct {
			Code string `json:"code"`
		}
		if bindJSON(c, &body) {
			c.JSON(http.StatusOK, body)
		}
	})
	e.GET("/boom", func(c *gin.Context) { panic("kaboom") })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, engine: e, logs: logs}
}

func decodeError(t *testing.T, resp *http.Response) ErrorDetail {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want JSON", ct)
	}
	var body ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Error.RequestID == "" || body.Error.Code == "" {
		t.Fatalf("incomplete error shape: %+v", body)
	}
	return body.Error
}

func TestReadinessAgainstRealStores(t *testing.T) {
	var db *gorm.DB = modeltest.Open(t, modeltest.Backends()[0], true)
	rdb := redistest.Open(t)
	checks := map[string]Check{
		"database": func(ctx context.Context) error { s, _ := db.DB(); return s.PingContext(ctx) },
		"redis":    rdb.Ping,
	}
	srv := newTestServer(t, checks)
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}
	checks["redis"] = func(context.Context) error { return errors.New("dial tcp 10.1.2.3:6379: refused") }
	srv = newTestServer(t, checks)
	resp, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Status string
		Failed []string
		Checks map[string]string
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(body.Failed) != 1 || body.Failed[0] != "redis" || body.Checks["database"] != "ok" {
		t.Fatalf("readyz = %d %+v", resp.StatusCode, body)
	}
	// The scraper sees the same checks, run at scrape time.
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`realname_readiness_up{check="database"} 1`, `realname_readiness_up{check="redis"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	srv := newTestServer(t, nil)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"unknown route", "GET", "/nope", "", "", 404, CodeNotFound},
		{"wrong method", "DELETE", "/healthz", "", "", 405, CodeMethodNotAllowed},
		{"malformed json", "POST", "/echo", "application/json", `{"code":`, 400, CodeMalformedJSON},
		{"empty body", "POST", "/echo", "application/json", ``, 400, CodeMalformedJSON},
		{"two objects", "POST", "/echo", "application/json", `{"code":"a"}{"code":"b"}`, 400, CodeMalformedJSON},
		{"wrong type", "POST", "/echo", "application/json", `{"code":5}`, 400, CodeMalformedJSON},
		{"unknown field", "POST", "/echo", "application/json", `{"code":"a","extra":1}`, 400, CodeUnknownField},
		{"not json", "POST", "/echo", "text/plain", `hello`, 415, CodeUnsupportedMediaType},
		{"too large", "POST", "/echo", "application/json", `{"code":"` + strings.Repeat("x", 2000) + `"}`, 413, CodeBodyTooLarge},
		{"panic", "GET", "/boom", "", "", 500, CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if e := decodeError(t, resp); e.Code != tc.code {
				t.Fatalf("code = %q, want %q", e.Code, tc.code)
			}
		})
	}
	if !strings.Contains(srv.logs.String(), `"panic":"kaboom"`) {
		t.Error("the panic was not logged")
	}
}

func TestChunkedBodyOverLimit(t *testing.T) {
	srv := newTestServer(t, nil)
	// No Content-Length: the limit must hold while reading, not only up front.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"code":"` + strings.Repeat("y", 4000) + `"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/echo", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if e := decodeError(t, resp); e.Code != CodeBodyTooLarge {
		t.Fatalf("code = %s", e.Code)
	}
}

func TestRequestIDAndMetrics(t *testing.T) {
	srv := newTestServer(t, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "gw-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-ID") != "gw-123" {
		t.Fatalf("request id not echoed: %q", resp.Header.Get("X-Request-ID"))
	}
	req.Header.Set("X-Request-ID", "bad id with spaces\u00e9")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); len(id) != 24 {
		t.Fatalf("invalid request id must be replaced, got %q", id)
	}
	_, _ = http.Get(srv.URL + "/users/110101199003071234") // unmatched; the raw path must not reach labels or logs
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`realname_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2`,
		`route="unmatched",status="404"`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text+srv.logs.String(), "110101199003071234") {
		t.Error("a raw path leaked into metrics or logs")
	}
}

func TestIndexAndStatic(t *testing.T) {
	srv := newTestServer(t, nil)
	for path, want := range map[string]string{"/": "/healthz", "/static/style.css": "font:"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %.80s", path, resp.StatusCode, b)
		}
	}
}

// TestRequestMethodsDoNotGrowMetrics: a client may send any token as its
// method; 50 requests with 8 KB random method names leave /metrics small
// and the log without them.
func TestRequestMethodsDoNotGrowMetrics(t *testing.T) {
	srv := newTestServer(t, nil)
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i := range 50 {
		b := make([]byte, 8<<10)
		for j := range b {
			b[j] = letters[(i*7+j*13+j/3)%len(letters)]
		}
		req, err := http.NewRequest(string(b), srv.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) > 2<<20 {
		t.Fatalf("/metrics is %d bytes after 50 odd methods", len(b))
	}
	if !strings.Contains(string(b), `method="OTHER"`) {
		t.Error("odd methods are not counted as OTHER")
	}
	if len(srv.logs.String()) > 200<<10 {
		t.Errorf("the access log grew to %d bytes", len(srv.logs.String()))
	}
}

// TestTextFieldsAreText: a NUL or invalid UTF-8 in a query parameter, a
// form field or a JSON string is answered 400 invalid_text before any
// handler (PostgreSQL answered such text with a 500).
func TestTextFieldsAreText(t *testing.T) {
	srv := newTestServer(t, nil)
	for name, do := range map[string]func() (*http.Response, error){
		"query NUL":     func() (*http.Response, error) { return http.Get(srv.URL + "/healthz?q=a%00b") },
		"query invalid": func() (*http.Response, error) { return http.Get(srv.URL + "/healthz?q=%ff%fe") },
		"form NUL": func() (*http.Response, error) {
			return http.Post(srv.URL+"/echo", "application/x-www-form-urlencoded", strings.NewReader("username=ann%00"))
		},
		"json NUL": func() (*http.Response, error) {
			return http.Post(srv.URL+"/echo", "application/json", strings.NewReader(`{"code":"a\u0000b"}`))
		},
		"json invalid UTF-8": func() (*http.Response, error) {
			return http.Post(srv.URL+"/echo", "application/json", strings.NewReader("{\"code\":\"\xff\xfe\"}"))
		},
	} {
		resp, err := do()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest || decodeError(t, resp).Code != CodeInvalidText {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
		resp.Body.Close()
	}
	resp, err := http.Post(srv.URL+"/echo", "application/json", strings.NewReader(`{"code":"林浩然"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("plain text refused: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
}

// TestMultipartFingerprintIgnoresTheBoundary: wx.uploadFile's retry sends
// the same file under a new boundary; it is the same request. Another file
// or another field value is not.
func TestMultipartFingerprintIgnoresTheBoundary(t *testing.T) {
	form := func(boundary, side string, file []byte) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.SetBoundary(boundary)
		_ = w.WriteField("side", side)
		fw, _ := w.CreateFormFile("image", "photo.jpg")
		_, _ = fw.Write(file)
		_ = w.Close()
		return w.FormDataContentType(), buf.Bytes()
	}
	ct1, b1 := form("boundary-one-1111", "front", []byte("jpeg bytes"))
	ct2, b2 := form("another-boundary-2222", "front", []byte("jpeg bytes"))
	ct3, b3 := form("boundary-one-1111", "front", []byte("other jpeg"))
	ct4, b4 := form("boundary-one-1111", "back", []byte("jpeg bytes"))
	c1 := canonicalBody(ct1, b1)
	if !bytes.Equal(c1, canonicalBody(ct2, b2)) {
		t.Error("a new boundary made a different request")
	}
	if bytes.Equal(c1, canonicalBody(ct3, b3)) || bytes.Equal(c1, canonicalBody(ct4, b4)) {
		t.Error("another file or field made the same request")
	}
	if bytes.Contains(c1, []byte("jpeg bytes")) {
		t.Error("the canonical form holds the file itself")
	}
	j1 := canonicalBody("application/json", []byte(`{"name":"a", "id_number":"1"}`))
	j2 := canonicalBody("application/json; charset=utf-8", []byte(`{"id_number":"1","name":"a"}`))
	if !bytes.Equal(j1, j2) {
		t.Error("the same JSON in another field order made a different request")
	}
}
