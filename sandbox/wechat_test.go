package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for WeChatOptions.Now. It starts at 18:00
// in China, six hours before WeChat's daily quotas reset.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// wxHarness is a WeChat fake mounted on a sandbox Server behind httptest.
type wxHarness struct {
	t     *testing.T
	wx    *WeChat
	srv   *Server
	url   string
	clock *fakeClock
}

func newWxHarness(t *testing.T, opts WeChatOptions) *wxHarness {
	t.Helper()
	clock := newFakeClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	wx := NewWeChat(testCards(t), opts)
	srv := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	wx.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &wxHarness{t: t, wx: wx, srv: srv, url: ts.URL, clock: clock}
}

// wxAnswer holds every field any of the faked endpoints answers.
type wxAnswer struct {
	Errcode     int    `json:"errcode"`
	Errmsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	OpenID      string `json:"openid"`
	SessionKey  string `json:"session_key"`
	UnionID     string `json:"unionid"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	Gender      string `json:"gender"`
	Nationality string `json:"nationality"`
	ValidDate   string `json:"valid_date"`
	raw         string
}

// do sends req and decodes the answer, which WeChat always sends as 200.
func (h *wxHarness) do(req *http.Request) wxAnswer {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	var a wxAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		h.t.Fatalf("%s %s: %v in %s", req.Method, req.URL.Path, err, body)
	}
	a.raw = string(body)
	return a
}

func (h *wxHarness) request(method, path string, body io.Reader) *http.Request {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

func (h *wxHarness) classic(appid, secret string) wxAnswer {
	h.t.Helper()
	q := url.Values{"grant_type": {"client_credential"}, "appid": {appid}, "secret": {secret}}
	return h.do(h.request(http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil))
}

func (h *wxHarness) stable(appid, secret string, force bool) wxAnswer {
	h.t.Helper()
	body, _ := json.Marshal(stableRequest{GrantType: "client_credential", AppID: appid, Secret: secret, ForceRefresh: force})
	return h.postJSON("/cgi-bin/stable_token", string(body))
}

func (h *wxHarness) postJSON(path, body string) wxAnswer {
	h.t.Helper()
	req := h.request(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return h.do(req)
}

// token returns a fresh classic token of the sandbox app.
func (h *wxHarness) token() string {
	h.t.Helper()
	a := h.classic(SandboxAppID, SandboxAppSecret)
	if a.AccessToken == "" {
		h.t.Fatalf("no token: %s", a.raw)
	}
	return a.AccessToken
}

// ocr uploads img as the multipart field "img"; nil img sends a form
// without it. extra is appended to the query (img_url, type).
func (h *wxHarness) ocr(token string, img []byte, extra url.Values) wxAnswer {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if img != nil {
		fw, err := mw.CreateFormFile("img", "card.jpg")
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(img)
	}
	_ = mw.Close()
	q := url.Values{"access_token": {token}}
	if token == "" {
		q = url.Values{}
	}
	for k, v := range extra {
		q[k] = v
	}
	req := h.request(http.MethodPost, "/cv/ocr/idcard?"+q.Encode(), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return h.do(req)
}

func (h *wxHarness) login(appid, secret, code string) wxAnswer {
	h.t.Helper()
	q := url.Values{"appid": {appid}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
	return h.do(h.request(http.MethodGet, "/sns/jscode2session?"+q.Encode(), nil))
}

// wantErr fails unless a is WeChat error code with a message, and with
// exactly msg when msg is not empty.
func wantErr(t *testing.T, a wxAnswer, code int, msg ...string) {
	t.Helper()
	if a.Errcode != code || a.Errmsg == "" || len(msg) > 0 && a.Errmsg != msg[0] {
		t.Fatalf("answer %s, want errcode %d %q", a.raw, code, msg)
	}
}

// wantValid fails unless ValidToken says token is usable (err == nil) or
// answers the given code.
func wantValid(t *testing.T, wx *WeChat, appid, token string, code int) {
	t.Helper()
	err := wx.ValidToken(appid, token)
	if code == 0 {
		if err != nil {
			t.Fatalf("token of %s rejected: %v", appid, err)
		}
		return
	}
	if werr, ok := err.(*WeChatError); !ok || werr.Code != code {
		t.Fatalf("ValidToken = %v, want errcode %d", err, code)
	}
}

func TestWeChatFaults(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	token := h.token()
	img := testSamples(t)[0].png
	endpoints := []struct {
		name  string
		call  func() wxAnswer
		quota int
	}{
		{"token", func() wxAnswer { return h.classic(SandboxAppID, SandboxAppSecret) }, 45009},
		{"stable_token", func() wxAnswer { return h.stable(SandboxAppID, SandboxAppSecret, false) }, 45009},
		{"jscode2session", func() wxAnswer { return h.login(SandboxAppID, SandboxAppSecret, "dave:1") }, 45011},
		{"ocr", func() wxAnswer { return h.ocr(token, img, nil) }, 101003},
	}
	setFault := func(mode string) {
		resp, err := http.Post(h.url+"/_sandbox/faults", "application/json",
			strings.NewReader(`{"upstream":"wechat","mode":"`+mode+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("setting fault %s: HTTP %d", mode, resp.StatusCode)
		}
	}
	for _, e := range endpoints {
		t.Run(e.name, func(t *testing.T) {
			setFault(ModeError)
			wantErr(t, e.call(), -1)
			setFault(ModeQuota)
			wantErr(t, e.call(), e.quota)
			setFault(ModeOK)
			if a := e.call(); a.Errcode != 0 {
				t.Fatalf("after the fault cleared: %s", a.raw)
			}
		})
	}
	calls := h.srv.Calls()
	for _, name := range []string{"GET /cgi-bin/token", "POST /cgi-bin/stable_token", "GET /sns/jscode2session", "POST /cv/ocr/idcard"} {
		if calls["wechat "+name] == 0 {
			t.Errorf("calls %v do not count %q", calls, name)
		}
	}
}

func TestWeChatControlEndpoints(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	post := func(path, body string) int {
		resp, err := http.Post(h.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/_sandbox/wechat/apps", `{"appid":"wxother","secret":"s2"}`); code != http.StatusOK {
		t.Fatalf("adding an app: HTTP %d", code)
	}
	other := h.classic("wxother", "s2").AccessToken
	h.stable("wxother", "s2", false)
	h.stable("wxother", "s2", true)
	wantValid(t, h.wx, "wxother", other, 0)

	resp, err := http.Get(h.url + "/_sandbox/wechat/tokens?appid=wxother")
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&counts)
	resp.Body.Close()
	if counts["issued_classic"] != 1.0 || counts["issued_stable"] != 2.0 || counts["force_refreshes"] != 1.0 {
		t.Errorf("token counters %v, want 1 classic, 2 stable, 1 forced", counts)
	}

	// Invalidation must work while the fake is failing: it is how tests
	// stage "someone else refreshed the token" before the next call.
	if err := h.srv.SetFault(Fault{Upstream: WeChatUpstream, Mode: ModeError}); err != nil {
		t.Fatal(err)
	}
	if code := post("/_sandbox/wechat/invalidate", `{"appid":"wxother"}`); code != http.StatusOK {
		t.Fatalf("invalidating: HTTP %d", code)
	}
	wantValid(t, h.wx, "wxother", other, 40001)
	for path, body := range map[string]string{
		"/_sandbox/wechat/invalidate": `{"appid":"wxnobody"}`,
		"/_sandbox/wechat/apps":       `{"appid":"wxnosecret"}`,
	} {
		if code := post(path, body); code/100 != 4 {
			t.Errorf("%s %s: HTTP %d, want 4xx", path, body, code)
		}
	}
	for name := range h.srv.Calls() {
		if strings.Contains(name, "_sandbox") {
			t.Errorf("control endpoint %q counted as an upstream call", name)
		}
	}
}

// TestWeChatStableTokenStampede: 2000 concurrent first calls in normal mode
// must share one token, as WeChat guarantees.
func TestWeChatStableTokenStampede(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	body := `{"grant_type":"client_credential","appid":"` + SandboxAppID + `","secret":"` + SandboxAppSecret + `"}`
	const n = 2000
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Straight into the handler: 2000 sockets would test the
			// kernel, not the fake's locking.
			rec := httptest.NewRecorder()
			h.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/cgi-bin/stable_token", strings.NewReader(body)))
			var a tokenAnswer
			_ = json.Unmarshal(rec.Body.Bytes(), &a)
			tokens[i] = a.AccessToken
		})
	}
	wg.Wait()
	for i, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("call %d got token %q, call 0 got %q", i, tok, tokens[0])
		}
	}
	if _, stable, _ := h.wx.Issued(SandboxAppID); stable != 1 {
		t.Fatalf("issued_stable = %d, want 1", stable)
	}
	if got := h.srv.Calls()["wechat POST /cgi-bin/stable_token"]; got != n {
		t.Fatalf("counted %d calls, want %d", got, n)
	}
}

// TestWeChatConcurrentMix runs every endpoint at once, with invalidations,
// for the race detector; answers must stay within the documented codes.
func TestWeChatConcurrentMix(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{ClassicDailyLimit: -1})
	img := testSamples(t)[1].jpeg
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for i := range 40 {
		wg.Go(func() {
			tok := h.token()
			if a := h.ocr(tok, img, nil); a.Errcode != 0 && a.Errcode != 40001 {
				errs <- "ocr: " + a.raw
			}
			if a := h.login(SandboxAppID, SandboxAppSecret, "mix:"+strconv.Itoa(i)); a.OpenID == "" {
				errs <- "login: " + a.raw
			}
			if a := h.stable(SandboxAppID, SandboxAppSecret, false); a.AccessToken == "" {
				errs <- "stable: " + a.raw
			}
			h.wx.InvalidateTokens(SandboxAppID)
			_ = h.wx.ValidToken(SandboxAppID, tok)
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
