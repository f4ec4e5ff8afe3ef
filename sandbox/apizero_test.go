package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"realname/testdata/idcard"
)

// apizeroHarness is the apizero fake on a sandbox Server behind httptest.
type apizeroHarness struct {
	t    *testing.T
	fake *Apizero
	srv  *Server
	url  string // the endpoint, sandbox URL + /apizero/api/ocr-idcard
}

func newApizeroHarness(t *testing.T) *apizeroHarness {
	t.Helper()
	fake := NewApizero(testCards(t), "")
	srv := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	fake.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &apizeroHarness{t: t, fake: fake, srv: srv, url: ts.URL + ApizeroPrefix + "/api/ocr-idcard"}
}

// apizeroReply is an answer with data kept raw, to see nulls.
type apizeroReply struct {
	HTTP      int
	Code      int                        `json:"code"`
	Status    string                     `json:"status"`
	Msg       string                     `json:"msg"`
	Data      map[string]json.RawMessage `json:"data"`
	RequestID string                     `json:"request_id"`
}

// post sends body with the given headers ("k: v" strings).
func (h *apizeroHarness) post(body string, headers ...string) apizeroReply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r apizeroReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		h.t.Fatalf("answer is not JSON: %v", err)
	}
	r.HTTP = resp.StatusCode
	if r.RequestID == "" {
		h.t.Errorf("answer without request_id: %+v", r)
	}
	return r
}

func apizeroBase64Body(img []byte) string {
	return `{"input_type":"base64","input_data":"` + base64.StdEncoding.EncodeToString(img) + `"}`
}

const apizeroKeyHeader = "X-Api-Key: " + SandboxApizeroKey

func (r apizeroReply) want(t *testing.T, what string, httpStatus, code int) {
	t.Helper()
	if r.HTTP != httpStatus || r.Code != code {
		t.Errorf("%s: HTTP %d code %d (%s %s), want HTTP %d code %d", what, r.HTTP, r.Code, r.Status, r.Msg, httpStatus, code)
	}
}

func TestApizeroFakeAuth(t *testing.T) {
	h := newApizeroHarness(t)
	body := apizeroBase64Body(idcard.NotACard())
	h.post(body).want(t, "no key", 401, 4010)
	h.post(body, "X-Api-Key: wrong").want(t, "wrong X-Api-Key", 401, 4010)
	h.post(body, "Authorization: Bearer wrong").want(t, "wrong bearer", 401, 4010)
	h.post(body, "Authorization: "+SandboxApizeroKey).want(t, "key without Bearer", 401, 4010)
	// Past auth, the landscape is answered as the documented 5021.
	h.post(body, apizeroKeyHeader).want(t, "X-Api-Key", 502, 5021)
	h.post(body, "Authorization: Bearer "+SandboxApizeroKey).want(t, "bearer", 502, 5021)
}

func TestApizeroFakeValidation(t *testing.T) {
	h := newApizeroHarness(t)
	for what, body := range map[string]string{
		"not JSON":          `input_type=base64`,
		"input_type file":   `{"input_type":"file","input_data":"aGk="}`,
		"input_type absent": `{"input_data":"aGk="}`,
		"input_data empty":  `{"input_type":"base64","input_data":""}`,
		"not base64":        `{"input_type":"base64","input_data":"***"}`,
		"over 10 MB":        `{"input_type":"base64","input_data":"` + strings.Repeat("A", 10_000_004) + `"}`,
		"url not http":      `{"input_type":"url","input_data":"ftp://example.com/a.png"}`,
	} {
		r := h.post(body, apizeroKeyHeader)
		if what == "url not http" {
			r.want(t, what, 502, 5021)
			continue
		}
		r.want(t, what, 400, 4000)
		if r.Status != "VALIDATION_ERROR" {
			t.Errorf("%s: status %q", what, r.Status)
		}
	}
}

func TestApizeroFakeRecognizes(t *testing.T) {
	h := newApizeroHarness(t)
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	c := cards[0]
	front, _ := idcard.Image(c.Front)
	r := h.post(apizeroBase64Body(front), apizeroKeyHeader)
	r.want(t, "front", 200, 0)
	for field, want := range map[string]string{
		"side": `1`, "identity_name": `"` + c.Name + `"`, "identity_code": `"` + c.IDNumber + `"`,
		"gender": `"` + c.Sex + `"`, "race": `"` + c.Ethnicity + `"`, "birth": `"` + c.Birth + `"`,
		"address": `"` + c.Address + `"`, "issued_by": `null`, "valid_date_start": `null`, "valid_date_end": `null`,
	} {
		if got := string(r.Data[field]); got != want {
			t.Errorf("front %s = %s, want %s", field, got, want)
		}
	}

	// The back by URL, as input_type url allows.
	back, _ := idcard.Image(c.Back)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(back) }))
	t.Cleanup(img.Close)
	r = h.post(`{"input_type":"url","input_data":"`+img.URL+`/back.png"}`, apizeroKeyHeader)
	r.want(t, "back by url", 200, 0)
	for field, want := range map[string]string{
		"side": `0`, "identity_name": `null`, "identity_code": `null`, "issued_by": `"` + c.Authority + `"`,
		"valid_date_start": `"` + c.ValidFrom + `"`, "valid_date_end": `"` + c.ValidTo + `"`,
	} {
		if got := string(r.Data[field]); got != want {
			t.Errorf("back %s = %s, want %s", field, got, want)
		}
	}
}

func TestApizeroFakeRateAndFaults(t *testing.T) {
	h := newApizeroHarness(t)
	body := apizeroBase64Body(idcard.NotACard())
	h.fake.EnforceRate(true)
	// The rate is checked before the body is read, so empty bodies make a
	// quick burst even on a loaded machine: past the burst of 2, some
	// answer must be the rate-limit error.
	limited := 0
	for range 6 {
		r := h.post(`{}`, apizeroKeyHeader)
		switch {
		case r.HTTP == 429 && r.Code == 4290:
			limited++
		case r.HTTP == 400 && r.Code == 4000:
		default:
			t.Fatalf("burst: HTTP %d code %d", r.HTTP, r.Code)
		}
	}
	if limited == 0 {
		t.Fatal("6 requests in a burst were all let through a 2 req/s limit")
	}
	h.fake.EnforceRate(false)
	h.post(body, apizeroKeyHeader).want(t, "limit off", 502, 5021)

	for mode, want := range map[string][2]int{ModeError: {502, 5020}, ModeQuota: {429, 4291}} {
		if err := h.srv.SetFault(Fault{Upstream: ApizeroUpstream, Mode: mode}); err != nil {
			t.Fatal(err)
		}
		h.post(body, apizeroKeyHeader).want(t, mode, want[0], want[1])
	}
	// 6 in the burst, 1 with the limit off, 2 faulted.
	if n := h.srv.Calls()["apizero POST /apizero/api/ocr-idcard"]; n != 9 {
		t.Errorf("counted %d calls, want 9", n)
	}
}

// TestApizeroFakeBodyLimit checks an oversized body is cut off, not read.
func TestApizeroFakeBodyLimit(t *testing.T) {
	h := newApizeroHarness(t)
	var b bytes.Buffer
	b.WriteString(`{"input_type":"base64","input_data":"`)
	b.Write(bytes.Repeat([]byte("A"), 10_100_000))
	b.WriteString(`"}`)
	h.post(b.String(), apizeroKeyHeader).want(t, "10.1 MB body", 400, 4000)
}
