package handler

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
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
	mountDemo(r, slog.New(slog.NewTextHandler(io.Discard, nil)), templates, "v7-test", "http://127.0.0.1:1")
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
	mountDemo(r, slog.New(slog.NewTextHandler(io.Discard, nil)), templates, `v1"><script>x</script>`, "http://127.0.0.1:1")
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

// TestDemoSpeaksLikeTheExample: the demo's Chinese texts are the example
// Mini Program's, table by table, so the demo shows what users will read.
func TestDemoSpeaksLikeTheExample(t *testing.T) {
	example, err := os.ReadFile("../examples/miniprogram/pages/verify/verify.js")
	if err != nil {
		t.Fatal(err)
	}
	faceStep, err := os.ReadFile("../examples/miniprogram/pages/verify/face.js")
	if err != nil {
		t.Fatal(err)
	}
	example = append(example, faceStep...)
	demo, err := fs.ReadFile(web.Static(), "demo.js")
	if err != nil {
		t.Fatal(err)
	}
	zh := string(demo)[:strings.Index(string(demo), "\n    en: {")]
	pair := regexp.MustCompile(`(\w+): '([^']*)'`)
	table := func(src, start string) map[string]string {
		i := strings.Index(src, start)
		if i < 0 {
			t.Fatalf("no %q", start)
		}
		j := strings.Index(src[i:], "}")
		out := map[string]string{}
		for _, m := range pair.FindAllStringSubmatch(src[i:i+j], -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	for _, name := range []string{"ERROR_TEXT", "REASON_TEXT", "WARNING_TEXT", "RESULT_TITLE", "FIELD_TEXT", "FACE_TEXT"} {
		want, got := table(string(example), "const "+name+" = {"), table(zh, name+": {")
		if len(want) == 0 {
			t.Fatalf("the example has no %s", name)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s.%s: demo %q, example %q", name, k, got[k], v)
			}
		}
	}
	wxml, err := os.ReadFile("../examples/miniprogram/pages/verify/verify.wxml")
	if err != nil {
		t.Fatal(err)
	}
	notice := regexp.MustCompile(`<text>([^<{]+)</text>`).FindSubmatch(wxml)
	if notice == nil || !strings.Contains(string(demo), string(notice[1])) {
		t.Error("the demo's notice is not the example's")
	}
}

func TestDemoLanguage(t *testing.T) {
	r := newDemoEngine(t)
	for _, tc := range []struct{ path, accept, want string }{
		{"/demo", "", `<html lang="zh-CN">`},
		{"/demo", "en-US,en;q=0.9", `<html lang="en">`},
		{"/demo?lang=en", "zh-CN", `<html lang="en">`},
		{"/demo?lang=zh-CN", "en", `<html lang="zh-CN">`},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Language", tc.accept)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s with %q: want %s", tc.path, tc.accept, tc.want)
		}
	}
}
