package sandbox

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"realname/testdata/idcard"
)

// apistoreHarness is the API-store fake on a sandbox Server behind httptest,
// with its clock fixed.
type apistoreHarness struct {
	t    *testing.T
	fake *Apistore
	srv  *Server
	url  string
	now  time.Time
}

func newApistoreHarness(t *testing.T) *apistoreHarness {
	t.Helper()
	now := time.Unix(1545829466, 0)
	fake := NewApistore(testCards(t), "", "")
	fake.now = func() time.Time { return now }
	srv := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	fake.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &apistoreHarness{t: t, fake: fake, srv: srv, url: ts.URL + ApistoreEndpoint, now: now}
}

// apistoreReply holds every field the fake answers.
type apistoreReply struct {
	CodeID      int               `json:"codeid"`
	Message     string            `json:"message"`
	ImageStatus string            `json:"image_status"`
	NumberType  *int              `json:"idcard_number_type"`
	RetData     json.RawMessage   `json:"retdata"`
	Time        string            `json:"time"`
	fields      map[string]string // retdata, when an object
}

// testSign is the document's rule written out once more for the tests:
// names sorted, empty values skipped, name+value, then the secret, md5.
func testSign(form url.Values, secret string) string {
	var names []string
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	s := ""
	for _, k := range names {
		if k != "sign" && form.Get(k) != "" {
			s += k + form.Get(k)
		}
	}
	sum := md5.Sum([]byte(s + secret))
	return hex.EncodeToString(sum[:])
}

// signedForm is a valid request for img, asking for side.
func (h *apistoreHarness) signedForm(img []byte, side string) url.Values {
	form := url.Values{
		"appid": {SandboxApistoreAppID}, "format": {"json"}, "id_card_side": {side},
		"time": {strconv.FormatInt(h.now.Unix(), 10)}, "url_image": {base64.StdEncoding.EncodeToString(img)},
	}
	form.Set("sign", testSign(form, SandboxApistoreSecret))
	return form
}

func (h *apistoreHarness) post(form url.Values) apistoreReply {
	h.t.Helper()
	resp, err := http.Post(h.url, "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	return h.decode(resp)
}

func (h *apistoreHarness) decode(resp *http.Response) apistoreReply {
	h.t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var r apistoreReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		h.t.Fatalf("answer is not JSON: %v", err)
	}
	_ = json.Unmarshal(r.RetData, &r.fields)
	if r.Time == "" {
		h.t.Errorf("answer without time: %+v", r)
	}
	return r
}

func (r apistoreReply) want(t *testing.T, what string, code int) {
	t.Helper()
	if r.CodeID != code {
		t.Errorf("%s: codeid %d (%s), want %d", what, r.CodeID, r.Message, code)
	}
}

// TestApistoreFakeSignWorkedExample checks the fake's own sign code
// against an MD5 worked out by hand (md5sum) from the document's rule.
func TestApistoreFakeSignWorkedExample(t *testing.T) {
	fake := &Apistore{secret: "0123456789abcdef0123456789abcdef"}
	form := url.Values{"url_image": {"aGk/+w=="}, "time": {"1545829466"}, "id_card_side": {"front"},
		"format": {"json"}, "appid": {"100001"}, "sign": {"x"}}
	// md5("appid100001formatjsonid_card_sidefronttime1545829466url_imageaGk/+w==0123456789abcdef0123456789abcdef")
	if got, want := fake.expectedSign(form), "6931dd6a077560e3fcdf2e52633de7a8"; got != want {
		t.Errorf("sign %s, want %s", got, want)
	}
	form.Set("id_card_side", "")
	form.Set("url_image", "")
	// md5("appid100001formatjsontime1545829466" + secret): empty values are skipped.
	sum := md5.Sum([]byte("appid100001formatjsontime1545829466" + "0123456789abcdef0123456789abcdef"))
	if got := fake.expectedSign(form); got != hex.EncodeToString(sum[:]) {
		t.Errorf("empty values were signed: %s", got)
	}
}

func TestApistoreFakeAuthAndSign(t *testing.T) {
	h := newApistoreHarness(t)
	img := idcard.NotACard()
	ok := h.signedForm(img, "")
	h.post(ok).want(t, "valid", 10000)

	mutate := func(f func(url.Values)) url.Values {
		form := url.Values{}
		for k, v := range ok {
			form[k] = append([]string(nil), v...)
		}
		f(form)
		return form
	}
	resign := func(form url.Values) { form.Set("sign", testSign(form, SandboxApistoreSecret)) }
	for _, tc := range []struct {
		what string
		form url.Values
		code int
	}{
		{"no appid", mutate(func(f url.Values) { f.Del("appid"); resign(f) }), 10001},
		{"no sign", mutate(func(f url.Values) { f.Del("sign") }), 10002},
		{"wrong sign", mutate(func(f url.Values) { f.Set("sign", testSign(f, "another-secret")) }), 10003},
		{"upper-case sign", mutate(func(f url.Values) { f.Set("sign", strings.ToUpper(f.Get("sign"))) }), 10003},
		{"sign over other params", mutate(func(f url.Values) { f.Set("id_card_side", "back") }), 10003},
		{"wrong appid", mutate(func(f url.Values) { f.Set("appid", "999999"); resign(f) }), 10005},
		{"time not integer", mutate(func(f url.Values) { f.Set("time", "soon"); resign(f) }), 10017},
		{"time 11 minutes old", mutate(func(f url.Values) {
			f.Set("time", strconv.FormatInt(h.now.Add(-11*time.Minute).Unix(), 10))
			resign(f)
		}), 10004},
		{"time 9 minutes ahead", mutate(func(f url.Values) {
			f.Set("time", strconv.FormatInt(h.now.Add(9*time.Minute).Unix(), 10))
			resign(f)
		}), 10000},
		{"time left out", mutate(func(f url.Values) { f.Del("time"); resign(f) }), 10000},
		{"unknown parameter", mutate(func(f url.Values) { f.Set("side", "front"); resign(f) }), 10015},
		{"format xml", mutate(func(f url.Values) { f.Set("format", "xml"); resign(f) }), 10019},
		{"id_card_side left", mutate(func(f url.Values) { f.Set("id_card_side", "left"); resign(f) }), 10019},
	} {
		h.post(tc.form).want(t, tc.what, tc.code)
	}

	// The vendor's own samples send a GET query; that works too.
	resp, err := http.Get(h.url + "?" + ok.Encode())
	if err != nil {
		t.Fatal(err)
	}
	h.decode(resp).want(t, "GET", 10000)
}

func TestApistoreFakeImageLimits(t *testing.T) {
	h := newApistoreHarness(t)
	gray := func(w, hgt int) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, hgt))); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	h.post(h.signedForm(gray(4096, 15), "")).want(t, "4096x15", 10000)
	h.post(h.signedForm(gray(4097, 100), "")).want(t, "4097 px wide", 10019)
	h.post(h.signedForm(gray(100, 14), "")).want(t, "14 px high", 10019)
	h.post(h.signedForm([]byte("GIF89a"), "")).want(t, "not an image", 10019)

	form := h.signedForm(nil, "")
	form.Set("url_image", "@@@")
	form.Set("sign", testSign(form, SandboxApistoreSecret))
	h.post(form).want(t, "not base64", 10019)

	// 4,000,000 characters of base64 are within 4M as sent, but not once
	// url-encoded (+ and = take three bytes each), which is how the
	// document counts.
	form.Set("url_image", strings.Repeat("A", 3_999_996)+"+A==")
	form.Set("sign", testSign(form, SandboxApistoreSecret))
	r := h.post(form)
	r.want(t, "4,000,006 bytes url-encoded", 10019)
	if !strings.Contains(r.Message, "4M") {
		t.Errorf("over 4M: message %q", r.Message)
	}
}

func TestApistoreFakeRecognizes(t *testing.T) {
	h := newApistoreHarness(t)
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	c := cards[0]
	front, _ := idcard.Image(c.Front)
	r := h.post(h.signedForm(front, "front"))
	r.want(t, "front", 10000)
	want := map[string]string{"姓名": c.Name, "性别": c.Sex, "民族": c.Ethnicity, "出生": strings.ReplaceAll(c.Birth, "-", ""),
		"住址": c.Address, "公民身份号码": c.IDNumber}
	if r.ImageStatus != "normal" || r.NumberType == nil || *r.NumberType != 1 || !maps.Equal(r.fields, want) {
		t.Errorf("front: %+v %v", r, r.fields)
	}

	// The back, asked as the front and sent as BMP: reversed_side, read anyway.
	back, _ := idcard.Image(c.Back)
	img, _ := png.Decode(bytes.NewReader(back))
	var bm bytes.Buffer
	if err := bmp.Encode(&bm, img); err != nil {
		t.Fatal(err)
	}
	r = h.post(h.signedForm(bm.Bytes(), "front"))
	r.want(t, "back as bmp", 10000)
	want = map[string]string{"签发机关": c.Authority, "签发日期": strings.ReplaceAll(c.ValidFrom, "-", ""),
		"失效日期": strings.ReplaceAll(c.ValidTo, "-", "")}
	if r.ImageStatus != "reversed_side" || r.NumberType != nil || !maps.Equal(r.fields, want) {
		t.Errorf("back: %+v %v", r, r.fields)
	}

	r = h.post(h.signedForm(idcard.NotACard(), ""))
	r.want(t, "not a card", 10000)
	if r.ImageStatus != "non_idcard" || r.NumberType == nil || *r.NumberType != -1 || len(r.fields) != 0 {
		t.Errorf("not a card: %+v", r)
	}

	for mode, code := range map[string]int{ModeError: 10021, ModeQuota: 10018} {
		if err := h.srv.SetFault(Fault{Upstream: ApistoreUpstream, Mode: mode}); err != nil {
			t.Fatal(err)
		}
		h.post(h.signedForm(front, "")).want(t, mode, code)
	}
}

func TestApistoreFakeNumberType(t *testing.T) {
	c := idcard.Card{IDNumber: "110101199005142138", Sex: "男", Birth: "1990-05-14"}
	for _, tc := range []struct {
		sex, birth, id string
		want           int
	}{
		{"男", "1990-05-14", c.IDNumber, 1},
		{"女", "1990-05-15", c.IDNumber, 2},
		{"男", "1990-05-15", c.IDNumber, 3},
		{"女", "1990-05-14", c.IDNumber, 4},
		{"男", "1990-05-14", "110101199005142139", 0},
	} {
		if got := numberType(idcard.Card{IDNumber: tc.id, Sex: tc.sex, Birth: tc.birth}); got != tc.want {
			t.Errorf("%s %s %s: %d, want %d", tc.id, tc.sex, tc.birth, got, tc.want)
		}
	}
}
