package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"realname/testdata/idcard"
)

// aceHarness is an Acedata fake on a started sandbox Server.
type aceHarness struct {
	t   *testing.T
	srv *Server
	url string // the endpoint
}

func newAceHarness(t *testing.T) *aceHarness {
	t.Helper()
	srv := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	NewAcedata(testCards(t), "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &aceHarness{t: t, srv: srv, url: srv.URL() + "/acedata/identity/idcard/ocr"}
}

// aceReply is everything the fake may answer.
type aceReply struct {
	Result      string `json:"result"`
	Description string `json:"description"`
	Name        string `json:"name"`
	IDCard      string `json:"id_card"`
	Sex         string `json:"sex"`
	Nation      string `json:"nation"`
	Birth       string `json:"birth"`
	Address     string `json:"address"`
	Error       struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	TraceID string `json:"trace_id"`
}

func (h *aceHarness) post(auth string, body any) (int, aceReply) {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("accept", "application/json")
	req.Header.Set("content-type", "application/json")
	if auth != "" {
		req.Header.Set("authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r aceReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		h.t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

func aceDataURL(typ string, data []byte) string {
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(data)
}

func aceCard(t *testing.T, key string) idcard.Card {
	t.Helper()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no sample card %q", key)
	return idcard.Card{}
}

func TestAcedataAuthorization(t *testing.T) {
	h := newAceHarness(t)
	body := map[string]string{"name": "林浩然", "id_card": "110101199005142138"}
	for _, auth := range []string{"", "wrong", "Bearer wrong", "Basic " + SandboxAcedataKey} {
		status, r := h.post(auth, body)
		if status != http.StatusUnauthorized || r.Error.Code != "invalid_token" || r.TraceID == "" {
			t.Errorf("authorization %q: %d %+v", auth, status, r)
		}
	}
	for _, auth := range []string{SandboxAcedataKey, "Bearer " + SandboxAcedataKey, "bearer " + SandboxAcedataKey} {
		if status, r := h.post(auth, body); status != http.StatusOK || r.Result != "0" {
			t.Errorf("authorization %q: %d %+v", auth, status, r)
		}
	}
}

func TestAcedataBadRequests(t *testing.T) {
	h := newAceHarness(t)
	for name, body := range map[string]any{
		"not json":       "{",
		"nothing":        map[string]string{},
		"name only":      map[string]string{"name": "林浩然"},
		"empty image":    map[string]string{"image_url": ""},
		"encrypted":      map[string]any{"name": "x", "id_card": "y", "encryption": []any{map[string]string{"iv": "a"}}},
		"bad data url":   map[string]string{"image_url": "data:text/plain;base64,aGk="},
		"bad base64":     map[string]string{"image_url": "data:image/png;base64,%%%"},
		"not a url":      map[string]string{"image_url": "ftp://example.com/a.png"},
		"not an image":   map[string]string{"image_url": aceDataURL("image/png", []byte("hello, not a picture"))},
		"download fails": map[string]string{"image_url": h.srv.URL() + "/no-such-image.png"},
	} {
		status, r := h.post(SandboxAcedataKey, body)
		if status != http.StatusBadRequest || r.Error.Code != "api_not_implemented" || r.Error.Message == "" {
			t.Errorf("%s: %d %+v", name, status, r)
		}
	}
}

func TestAcedataVerification(t *testing.T) {
	h := newAceHarness(t)
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"match": "0", "mismatch": "-1", "no_record": "-5"}
	for _, c := range cards {
		_, r := h.post(SandboxAcedataKey, map[string]string{"name": c.Name, "id_card": c.IDNumber})
		if r.Result != want[c.Check] || r.Description == "" || r.Name != "" || r.IDCard != "" {
			t.Errorf("%s: %+v, want result %s and no fields", c.Key, r, want[c.Check])
		}
	}
	male, xdigit := aceCard(t, "male"), aceCard(t, "xdigit")
	for _, tc := range []struct{ name, number, want string }{
		{"张三", male.IDNumber, "-1"},                                         // another name
		{xdigit.Name, "42010619830908028x", "0"},                            // lower-case check digit
		{"李四", "110101199003070011", "-5"},                                  // valid, unknown
		{male.Name, "110101199005142139", "-2"},                             // wrong check digit
		{male.Name, "1101011990051421", "-2"},                               // too short
		{male.Name, "", "-2"},                                               // empty number
		{"Lin Haoran", male.IDNumber, "-3"},                                 // not Chinese
		{"林", male.IDNumber, "-3"},                                          // too short
		{"", male.IDNumber, "-3"},                                           // empty
		{"·林浩", male.IDNumber, "-3"},                                        // leading dot
		{aceCard(t, "minority").Name, aceCard(t, "minority").IDNumber, "0"}, // middle dot
	} {
		if _, r := h.post(SandboxAcedataKey, map[string]string{"name": tc.name, "id_card": tc.number}); r.Result != tc.want {
			t.Errorf("%q %q: result %q, want %q", tc.name, tc.number, r.Result, tc.want)
		}
	}
}

func TestAcedataImages(t *testing.T) {
	h := newAceHarness(t)
	for _, s := range testSamples(t) {
		_, r := h.post(SandboxAcedataKey, map[string]string{"image_url": aceDataURL("image/jpeg", s.jpeg)})
		if s.side == SideBack {
			if r.Result != "-2" || r.Name != "" || r.IDCard != "" {
				t.Errorf("%s: %+v, want -2 and no fields", s.name, r)
			}
			continue
		}
		want := aceReply{Result: map[string]string{"match": "0", "mismatch": "-1", "no_record": "-5"}[s.card.Check],
			Name: s.card.Name, IDCard: s.card.IDNumber, Sex: s.card.Sex, Nation: s.card.Ethnicity,
			Birth: acePrintedDate(s.card.Birth), Address: s.card.Address}
		want.Description = r.Description
		if r != want {
			t.Errorf("%s: got %+v\nwant %+v", s.name, r, want)
		}
	}
	if _, r := h.post(SandboxAcedataKey, map[string]string{"image_url": aceDataURL("image/png", idcard.NotACard())}); r.Result != "-2" || r.Name != "" {
		t.Errorf("not a card: %+v", r)
	}
	// Verification wins over the image when both are sent.
	male := aceCard(t, "male")
	front, _ := idcard.Image(aceCard(t, "female").Front)
	_, r := h.post(SandboxAcedataKey, map[string]string{"name": male.Name, "id_card": male.IDNumber, "image_url": aceDataURL("image/png", front)})
	if r.Result != "0" || r.Name != "" {
		t.Errorf("both modes: %+v", r)
	}
}

func TestAcedataImageURLDownload(t *testing.T) {
	h := newAceHarness(t)
	card := aceCard(t, "longterm")
	front, _ := idcard.Image(card.Front)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(front)
	}))
	t.Cleanup(img.Close)
	_, r := h.post("Bearer "+SandboxAcedataKey, map[string]string{"image_url": img.URL + "/front.png"})
	if r.Result != "0" || r.IDCard != card.IDNumber || r.Birth != "1958/2/27" {
		t.Errorf("downloaded front: %+v", r)
	}
}

func TestAcedataFaults(t *testing.T) {
	h := newAceHarness(t)
	body := map[string]string{"name": "林浩然", "id_card": "110101199005142138"}
	if err := h.srv.SetFault(Fault{Upstream: AcedataUpstream, Mode: ModeError}); err != nil {
		t.Fatal(err)
	}
	if status, r := h.post(SandboxAcedataKey, body); status != http.StatusInternalServerError || r.Error.Code != "api_error" {
		t.Errorf("error mode: %d %+v", status, r)
	}
	_ = h.srv.SetFault(Fault{Upstream: AcedataUpstream, Mode: ModeQuota})
	if status, r := h.post(SandboxAcedataKey, body); status != http.StatusOK || r.Result != "-7" || r.Description == "" {
		t.Errorf("quota mode: %d %+v", status, r)
	}
	_ = h.srv.SetFault(Fault{Upstream: AcedataUpstream, Mode: ModeOK})
	if _, r := h.post(SandboxAcedataKey, body); r.Result != "0" {
		t.Errorf("after ok: %+v", r)
	}
	if n := h.srv.Calls()["acedata POST /acedata/identity/idcard/ocr"]; n != 3 {
		t.Errorf("calls counted %d, want 3", n)
	}
}
