package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const faceOpenID = "oFaceUser000000000000000000a"

// faceAnswer is what the face endpoints answer.
type faceAnswer struct {
	Errcode   int    `json:"errcode"`
	Errmsg    string `json:"errmsg"`
	VerifyID  string `json:"verify_id"`
	ExpiresIn int    `json:"expires_in"`
	VerifyRet int    `json:"verify_ret"`
	raw       string
}

// faceCall posts body to a face API with token.
func (h *wxHarness) faceCall(path, token string, body any) faceAnswer {
	h.t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, _ := json.Marshal(body)
		raw = string(b)
	}
	q := ""
	if token != "" {
		q = "?access_token=" + token
	}
	a := h.postJSON(path+q, raw)
	var fa faceAnswer
	_ = json.Unmarshal([]byte(a.raw), &fa)
	fa.raw = a.raw
	return fa
}

type faceStart struct {
	OutSeqNo string   `json:"out_seq_no"`
	Cert     faceCert `json:"cert_info"`
	OpenID   string   `json:"openid"`
}

type faceQuery struct {
	VerifyID string `json:"verify_id"`
	OutSeqNo string `json:"out_seq_no"`
	CertHash string `json:"cert_hash"`
	OpenID   string `json:"openid"`
}

func startOf(seq, name, number string) faceStart {
	return faceStart{OutSeqNo: seq, Cert: faceCert{Type: faceCertType, Name: name, Number: number}, OpenID: faceOpenID}
}

// queryOf is the query that matches s and verify_id id.
func queryOf(s faceStart, id string) faceQuery {
	return faceQuery{VerifyID: id, OutSeqNo: s.OutSeqNo, CertHash: faceCertHash(s.Cert), OpenID: s.OpenID}
}

// issue runs getVerifyId and fails unless it answers a verify_id.
func (h *wxHarness) issue(token string, s faceStart) faceAnswer {
	h.t.Helper()
	a := h.faceCall(faceGetPath, token, s)
	if a.Errcode != 0 || a.VerifyID == "" || len(a.VerifyID) > 256 {
		h.t.Fatalf("getverifyid: %s", a.raw)
	}
	return a
}

func wantRet(t *testing.T, a faceAnswer, ret int) {
	t.Helper()
	if a.Errcode != 0 || a.VerifyRet != ret {
		t.Fatalf("answer %s, want verify_ret %d", a.raw, ret)
	}
}

func wantFaceErr(t *testing.T, a faceAnswer, code int) {
	t.Helper()
	if a.Errcode != code || a.Errmsg == "" || a.VerifyRet != 0 || a.VerifyID != "" {
		t.Fatalf("answer %s, want errcode %d only", a.raw, code)
	}
}

// TestFaceCertHashVector: the fake hashes the document's test vector to
// the document's value.
func TestFaceCertHashVector(t *testing.T) {
	got := faceCertHash(faceCert{Type: "IDENTITY_CARD", Name: "张三", Number: "310101199801011234"})
	if got != "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b" {
		t.Fatalf("cert_hash %s", got)
	}
}

// TestFaceLifecycle: 10300 until the client runs, then the control's
// result, the same on every later query, and no change once read.
func TestFaceLifecycle(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	tok := h.token()
	s := startOf("seq_00001", "林浩然", "110101199005142138")
	a := h.issue(tok, s)
	if a.ExpiresIn != 3600 || a.Errmsg != "ok" {
		t.Fatalf("getverifyid: %s", a.raw)
	}
	q := queryOf(s, a.VerifyID)
	wantRet(t, h.faceCall(faceQueryPath, tok, q), FaceNotFinished)
	// A cancel then a second try within the same verify_id: the last wins.
	if err := h.wx.SetFaceResult(a.VerifyID, 90002); err != nil {
		t.Fatal(err)
	}
	if code := h.control(`{"verify_id":"` + a.VerifyID + `","verify_ret":10004}`); code != http.StatusOK {
		t.Fatalf("control: HTTP %d", code)
	}
	wantRet(t, h.faceCall(faceQueryPath, tok, q), 10004)
	wantRet(t, h.faceCall(faceQueryPath, tok, q), 10004)
	if err := h.wx.SetFaceResult(a.VerifyID, FacePassed); !errors.Is(err, ErrFaceDecided) {
		t.Fatalf("changing a read result: %v", err)
	}
	if code := h.control(`{"verify_id":"` + a.VerifyID + `","verify_ret":10000}`); code != http.StatusConflict {
		t.Fatalf("control on a read result: HTTP %d", code)
	}
	wantRet(t, h.faceCall(faceQueryPath, tok, q), 10004)
	for body, want := range map[string]int{
		`{"verify_id":"nope","verify_ret":10000}`:                 http.StatusNotFound,
		`{"verify_id":"` + a.VerifyID + `"}`:                      http.StatusBadRequest,
		`not json`:                                                http.StatusBadRequest,
		`{"verify_id":"` + a.VerifyID + `","verify_ret":"10000"}`: http.StatusBadRequest,
	} {
		if code := h.control(body); code != want {
			t.Errorf("control %s: HTTP %d, want %d", body, code, want)
		}
	}
	calls := h.srv.Calls()
	if calls[WeChatFaceUpstream+" POST "+faceGetPath] != 1 || calls[WeChatFaceUpstream+" POST "+faceQueryPath] != 4 {
		t.Fatalf("calls %v", calls)
	}
	for name := range calls {
		if strings.Contains(name, "_sandbox") {
			t.Errorf("control endpoint %q counted", name)
		}
	}
}

func (h *wxHarness) control(body string) int {
	h.t.Helper()
	resp, err := http.Post(h.url+"/_sandbox/wechat/face", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFaceGetVerifyIDValidation: the token first, then the body.
func TestFaceGetVerifyIDValidation(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	tok := h.token()
	good := startOf("seq-valid_1", "林浩然", "110101199005142138")
	wantFaceErr(t, h.faceCall(faceGetPath, "", good), 41001)
	wantFaceErr(t, h.faceCall(faceGetPath, "not-a-token", good), 40001)
	wantFaceErr(t, h.faceCall(faceGetPath, tok, `{"out_seq_no":`), 47001)
	wantFaceErr(t, h.faceCall(faceGetPath, tok, `[]`), 47001)
	wantFaceErr(t, h.faceCall(faceGetPath, tok, `"`+strings.Repeat("x", 20<<10)+`"`), 47001)
	for name, mod := range map[string]func(*faceStart){
		"seq too short":   func(s *faceStart) { s.OutSeqNo = "abcd" },
		"seq too long":    func(s *faceStart) { s.OutSeqNo = strings.Repeat("a", 33) },
		"seq bad char":    func(s *faceStart) { s.OutSeqNo = "abc.def" },
		"seq non-ascii":   func(s *faceStart) { s.OutSeqNo = "序列号序列号" },
		"cert type":       func(s *faceStart) { s.Cert.Type = "PASSPORT" },
		"cert type lower": func(s *faceStart) { s.Cert.Type = "identity_card" },
		"no name":         func(s *faceStart) { s.Cert.Name = "" },
		"no number":       func(s *faceStart) { s.Cert.Number = "" },
	} {
		s := good
		mod(&s)
		if a := h.faceCall(faceGetPath, tok, s); a.Errcode != 40097 {
			t.Errorf("%s: %s, want 40097", name, a.raw)
		}
	}
	noOpenID := good
	noOpenID.OpenID = ""
	wantFaceErr(t, h.faceCall(faceGetPath, tok, noOpenID), 40003)

	// The edges of the rule pass; an out_seq_no is single use per app.
	h.issue(tok, startOf("a_b-5", "林浩然", "110101199005142138"))
	h.issue(tok, startOf(strings.Repeat("Z9", 16), "林浩然", "110101199005142138"))
	h.issue(tok, good)
	wantFaceErr(t, h.faceCall(faceGetPath, tok, good), 40097)
	h.wx.AddApp("wxother", "other-secret")
	h.issue(h.classic("wxother", "other-secret").AccessToken, good)
}

// TestFaceQueryMismatches: anything that is not the getVerifyId's own
// app, user, serial number and identity is 84001, and so is expiry.
func TestFaceQueryMismatches(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{FaceTTL: time.Minute})
	tok := h.token()
	s := startOf("seq_00002", "林浩然", "110101199005142138")
	a := h.issue(tok, s)
	if a.ExpiresIn != 60 {
		t.Fatalf("expires_in %d, want 60", a.ExpiresIn)
	}
	good := queryOf(s, a.VerifyID)
	other := s
	other.Cert.Name = "林浩"
	for name, q := range map[string]faceQuery{
		"verify_id":  {VerifyID: "x" + a.VerifyID, OutSeqNo: good.OutSeqNo, CertHash: good.CertHash, OpenID: good.OpenID},
		"out_seq_no": {VerifyID: a.VerifyID, OutSeqNo: "seq_00003", CertHash: good.CertHash, OpenID: good.OpenID},
		"openid":     {VerifyID: a.VerifyID, OutSeqNo: good.OutSeqNo, CertHash: good.CertHash, OpenID: "oSomeoneElse"},
		"cert_hash":  {VerifyID: a.VerifyID, OutSeqNo: good.OutSeqNo, CertHash: faceCertHash(other.Cert), OpenID: good.OpenID},
		"upper hash": {VerifyID: a.VerifyID, OutSeqNo: good.OutSeqNo, CertHash: strings.ToUpper(good.CertHash), OpenID: good.OpenID},
		"plain hash": {VerifyID: a.VerifyID, OutSeqNo: good.OutSeqNo, CertHash: plainHash(s.Cert), OpenID: good.OpenID},
		"empty":      {},
	} {
		if a := h.faceCall(faceQueryPath, tok, q); a.Errcode != 84001 || a.Errmsg != "invalid identify id" {
			t.Errorf("%s: %s, want 84001", name, a.raw)
		}
	}
	h.wx.AddApp("wxother", "other-secret")
	wantFaceErr(t, h.faceCall(faceQueryPath, h.classic("wxother", "other-secret").AccessToken, good), 84001)
	wantFaceErr(t, h.faceCall(faceQueryPath, tok, `{"verify_id":1}`), 47001)
	wantRet(t, h.faceCall(faceQueryPath, tok, good), FaceNotFinished)

	h.clock.Advance(time.Minute)
	if err := h.wx.SetFaceResult(a.VerifyID, FacePassed); !errors.Is(err, ErrFaceExpired) {
		t.Fatalf("deciding an expired check: %v", err)
	}
	wantFaceErr(t, h.faceCall(faceQueryPath, h.token(), good), 84001)
}

// plainHash is the mistake the document warns about: hashing the values
// without Base64.
func plainHash(c faceCert) string {
	sum := sha256.Sum256([]byte("cert_type=" + c.Type + "&cert_name=" + c.Name + "&cert_no=" + c.Number))
	return hex.EncodeToString(sum[:])
}

// TestFaceByCard: in by-card mode an undecided check answers what the
// authority would say of the sample identity; the control still wins.
func TestFaceByCard(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{FaceByCard: true})
	tok := h.token()
	for i, tc := range []struct {
		name, number string
		want         int
	}{
		{"林浩然", "110101199005142138", FacePassed},
		{"周晓梅", "42010619830908028x", FacePassed}, // the number as typed, x in lower case
		{"林浩", "110101199005142138", FaceIDMismatch},
		{"赵子轩", "440305198807193170", FaceIDMismatch}, // the "mismatch" sample
		{"吴嘉禾", "510107197910101532", FaceNoRecord},   // the "no_record" sample
		{"张三", "310101199801011234", FaceNoRecord},    // no sample at all
	} {
		s := startOf("bycard_"+string(rune('a'+i)), tc.name, tc.number)
		a := h.issue(tok, s)
		wantRet(t, h.faceCall(faceQueryPath, tok, queryOf(s, a.VerifyID)), tc.want)
	}
	s := startOf("bycard_ctl", "林浩然", "110101199005142138")
	a := h.issue(tok, s)
	if err := h.wx.SetFaceResult(a.VerifyID, 90008); err != nil {
		t.Fatal(err)
	}
	wantRet(t, h.faceCall(faceQueryPath, tok, queryOf(s, a.VerifyID)), 90008)

	resp, err := http.Post(h.url+"/_sandbox/wechat/face/mode", "application/json", strings.NewReader(`{"by_card":false}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mode: %v %v", resp, err)
	}
	resp.Body.Close()
	s = startOf("bycard_off", "林浩然", "110101199005142138")
	a = h.issue(tok, s)
	wantRet(t, h.faceCall(faceQueryPath, tok, queryOf(s, a.VerifyID)), FaceNotFinished)
	resp, err = http.Post(h.url+"/_sandbox/wechat/face/mode", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("mode without by_card: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestFaceFaults: the face endpoints fail under their own upstream name,
// in WeChat's error format, without failing the token endpoints.
func TestFaceFaults(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	tok := h.token()
	s := startOf("fault_001", "林浩然", "110101199005142138")
	for mode, code := range map[string]int{ModeError: -1, ModeQuota: 45009} {
		if err := h.srv.SetFault(Fault{Upstream: WeChatFaceUpstream, Mode: mode}); err != nil {
			t.Fatal(err)
		}
		wantFaceErr(t, h.faceCall(faceGetPath, tok, s), code)
		wantFaceErr(t, h.faceCall(faceQueryPath, tok, queryOf(s, "x")), code)
	}
	tok = h.token() // the token endpoints are not failing
	if err := h.srv.SetFault(Fault{Upstream: WeChatFaceUpstream, Mode: ModeOK}); err != nil {
		t.Fatal(err)
	}
	h.issue(tok, s)
}
