package handler

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"realname/web"
)

// TestDemoFace: the demo's outcome sheet reaches the sandbox's face
// control with the three outcomes it offers, and only those; the
// sandbox's refusals come back in the API's error shape.
func TestDemoFace(t *testing.T) {
	var mu sync.Mutex // the sandbox answers on its own goroutines
	var got []map[string]any
	sb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path != "/_sandbox/wechat/face" || json.NewDecoder(r.Body).Decode(&body) != nil {
			t.Errorf("sandbox got %s", r.URL.Path)
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		if body["verify_id"] == "gone" {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer sb.Close()
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.Use(requestID())
	mountDemo(r, slog.New(slog.NewTextHandler(io.Discard, nil)), templates, "v1", sb.URL)
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/demo/face", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r.ServeHTTP(w, req)
		return w
	}
	for _, tc := range []struct {
		body string
		want int
		code string
	}{
		{`{"verify_id":"v1","verify_ret":10000}`, http.StatusOK, ""},
		{`{"verify_id":"v1","verify_ret":90002}`, http.StatusOK, ""},
		{`{"verify_id":"v1","verify_ret":10006}`, http.StatusBadRequest, CodeInvalidRequest},
		{`{"verify_id":"","verify_ret":10000}`, http.StatusBadRequest, CodeInvalidRequest},
		{`{"verify_id":"gone","verify_ret":10004}`, http.StatusNotFound, CodeNotFound},
	} {
		w := post(tc.body)
		var e ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != tc.want || e.Error.Code != tc.code {
			t.Errorf("%s: %d %s", tc.body, w.Code, w.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0]["verify_ret"] != float64(10000) || got[1]["verify_ret"] != float64(90002) {
		t.Errorf("the sandbox got %v", got)
	}
}
