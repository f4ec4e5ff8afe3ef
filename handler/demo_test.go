package handler

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"realname/testdata/idcard"
	"realname/web"
)

func newDemoEngine(t *testing.T) *gin.Engine {
	t.Helper()
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.Use(requestID())
	r.StaticFS("/static", http.FS(web.Static()))
	mountDemo(r, slog.New(slog.NewTextHandler(io.Discard, nil)), templates, "v7-test")
	return r
}

func demoGet(r *gin.Engine, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestDemoPage(t *testing.T) {
	r := newDemoEngine(t)
	w := demoGet(r, "/demo")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	body := w.Body.String()
	for _, want := range []string{`<script src="/static/demo.js" defer></script>`, `data-consent-version="v7-test"`, `/static/demo.css`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// No inline handlers or scripts: the page must work under a strict CSP.
	for _, banned := range []string{"onclick=", "onsubmit=", "onchange=", "<script>"} {
		if strings.Contains(body, banned) {
			t.Errorf("page holds %s", banned)
		}
	}
	for _, asset := range []string{"/static/demo.js", "/static/demo.css"} {
		if w := demoGet(r, asset); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", asset, w.Code, w.Body.Len())
		}
	}
}

func TestDemoPageEscapesConsentVersion(t *testing.T) {
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	mountDemo(r, slog.New(slog.NewTextHandler(io.Discard, nil)), templates, `v1"><script>x</script>`)
	body := demoGet(r, "/demo").Body.String()
	if strings.Contains(body, "<script>x") {
		t.Fatal("consent version rendered unescaped")
	}
}

func TestDemoSamples(t *testing.T) {
	r := newDemoEngine(t)
	w := demoGet(r, "/demo/samples.json")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var list demoSamples
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Cards) != 9 || !list.Synthetic || list.NotACard != "not_a_card.png" {
		t.Fatalf("samples = %+v", list)
	}
	male := list.Cards[0]
	if male.Key != "male" || male.Front != "male_front.png" || male.Back != "male_back.png" ||
		male.Name == "" || len(male.IDNumber) != 18 || male.Check != "match" {
		t.Errorf("first card = %+v", male)
	}
	// Every listed image is served.
	for _, c := range list.Cards {
		for _, name := range []string{c.Front, c.Back} {
			if w := demoGet(r, "/demo/samples/"+name); w.Code != http.StatusOK {
				t.Errorf("%s: status %d", name, w.Code)
			}
		}
	}
}

func TestDemoSampleImage(t *testing.T) {
	r := newDemoEngine(t)
	want, err := idcard.Image("male_front.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"male_front.png", "not_a_card.png"} {
		w := demoGet(r, "/demo/samples/"+name)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", name, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "image/png" {
			t.Errorf("%s: content type %q", name, ct)
		}
		if !bytes.HasPrefix(w.Body.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s: not a PNG", name)
		}
		if name == "male_front.png" && !bytes.Equal(w.Body.Bytes(), want) {
			t.Error("male_front.png differs from the fixture")
		}
	}
}

func TestDemoSampleRefusesOtherNames(t *testing.T) {
	r := newDemoEngine(t)
	// Path tricks never reach a handler that reads files.
	for _, path := range []string{"/demo/samples/../go.mod", "/demo/samples/..%2Fgo.mod", "/demo/samples/%2e%2e%2fgo.mod"} {
		if w := demoGet(r, path); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, w.Code)
		}
	}
	// Names that exist next to the fixtures, or look like them, are refused
	// with the JSON error shape.
	for _, name := range []string{"cards.json", "idcard.go", "male_front.jpg", "nobody_front.png", "..", "%2e%2e"} {
		w := demoGet(r, "/demo/samples/"+name)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", name, w.Code)
			continue
		}
		var body ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != CodeNotFound || body.Error.RequestID == "" {
			t.Errorf("%s: body %s", name, w.Body)
		}
	}
}
