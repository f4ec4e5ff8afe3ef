package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// WeChatFaceUpstream is the upstream name face verification's two
// endpoints register under, for fault injection.
const WeChatFaceUpstream = "wechat_face"

// The face verification paths, as the protocol document gives them.
const (
	faceGetPath   = "/cityservice/face/identify/getverifyid"
	faceQueryPath = "/cityservice/face/identify/queryverifyinfo"
)

// Face verify_ret values the fake answers by itself; any other comes from
// the control endpoint.
const (
	FacePassed      = 10000 // 识别成功
	FaceIDMismatch  = 10003 // 身份证号不匹配
	FaceNoRecord    = 10026 // 用户身份数据不在权威源比对库中
	FaceNotFinished = 10300 // 未完成核身: the check has not run
)

const (
	faceCertType      = "IDENTITY_CARD" // the only cert_type documented
	faceMaxBody       = 16 << 10        // a request body is a few hundred bytes
	faceSeqMin        = 5               // out_seq_no length bounds
	faceSeqMax        = 32
	faceVerifyIDBytes = 32 // random bytes of a verify_id
)

// faceCheck is one verify_id the fake issued. Guarded by WeChat.mu.
type faceCheck struct {
	appid, openid, seq string
	certHash           string
	name, number       string // kept for deciding by card; sample data only
	expires            time.Time
	ret                int  // 0 until the check "ran"
	read               bool // a query has answered ret: it stands from now on
}

// faceCert is getVerifyId's cert_info.
type faceCert struct {
	Type   string `json:"cert_type"`
	Name   string `json:"cert_name"`
	Number string `json:"cert_no"`
}

// serveGetVerifyID is getVerifyId: the access_token names the app, the
// body {out_seq_no, cert_info, openid} one check. The document's error
// table is empty, so the fake picks WeChat's general codes: 47001 for a
// body that is no JSON object, 40003 for a missing openid, 40097 (invalid
// args) for an out_seq_no that is not 5-32 of [0-9A-Za-z_-] or was used
// before by the app (the document wants it unique per appid), a cert_type
// other than IDENTITY_CARD, or an empty cert_name or cert_no.
func (w *WeChat) serveGetVerifyID(rw http.ResponseWriter, r *http.Request) {
	appid, ok := w.tokenApp(rw, r)
	if !ok {
		return
	}
	var req struct {
		OutSeqNo string   `json:"out_seq_no"`
		Cert     faceCert `json:"cert_info"`
		OpenID   string   `json:"openid"`
	}
	if !decodeFaceBody(rw, r, &req) {
		return
	}
	seqKey := appid + "\x00" + req.OutSeqNo
	w.mu.Lock()
	_, reused := w.faceSeqs[seqKey]
	w.mu.Unlock()
	switch {
	case req.OpenID == "":
		writeWx(rw, wxErr(40003))
		return
	case !faceSeqOK(req.OutSeqNo) || reused || req.Cert.Type != faceCertType ||
		req.Cert.Name == "" || req.Cert.Number == "":
		writeWx(rw, wxErr(40097))
		return
	}
	id := newVerifyID()
	now := w.opts.Now()
	w.mu.Lock()
	w.faceSeqs[seqKey] = struct{}{}
	w.faces[id] = &faceCheck{appid: appid, openid: req.OpenID, seq: req.OutSeqNo, certHash: faceCertHash(req.Cert),
		name: req.Cert.Name, number: req.Cert.Number, expires: now.Add(w.opts.FaceTTL)}
	w.mu.Unlock()
	writeWx(rw, map[string]any{"errcode": 0, "errmsg": "ok", "verify_id": id,
		"expires_in": int(w.opts.FaceTTL / time.Second)})
}

// serveQueryVerifyInfo is queryVerifyInfo: verify_id, out_seq_no,
// cert_hash and openid must be those of one getVerifyId of the same app,
// before the verify_id expires; anything else is 84001, as the document
// says for mismatches and expired ids. A check nobody decided answers
// 10300 (未完成核身), or is decided from the sample cards in by-card mode.
// Once a query has answered a decided verify_ret, every later query
// answers the same value: the document calls a repeated query 10021 "the
// earlier result is returned", and answering the earlier value itself
// keeps a caller that repeats its query (a retry after a lost answer)
// from needing a stored result it may never have received.
func (w *WeChat) serveQueryVerifyInfo(rw http.ResponseWriter, r *http.Request) {
	appid, ok := w.tokenApp(rw, r)
	if !ok {
		return
	}
	var req struct {
		VerifyID string `json:"verify_id"`
		OutSeqNo string `json:"out_seq_no"`
		CertHash string `json:"cert_hash"`
		OpenID   string `json:"openid"`
	}
	if !decodeFaceBody(rw, r, &req) {
		return
	}
	now := w.opts.Now()
	w.mu.Lock()
	c := w.faces[req.VerifyID]
	valid := c != nil && c.appid == appid && c.openid == req.OpenID && c.seq == req.OutSeqNo &&
		c.certHash == req.CertHash && now.Before(c.expires)
	ret := FaceNotFinished
	if valid {
		if c.ret == 0 && w.faceByCard {
			c.ret = w.faceByCardLocked(c)
		}
		if c.ret != 0 {
			ret, c.read = c.ret, true
		}
	}
	w.mu.Unlock()
	if !valid {
		writeWx(rw, wxErr(84001))
		return
	}
	writeWx(rw, map[string]any{"errcode": 0, "errmsg": "ok", "verify_ret": ret})
}

// faceByCardLocked is what the authority would say about the identity of
// c, read from the sample cards as the name/ID check fakes read it: a
// sample's own name and number pass, the "mismatch" card or another name
// is 10003, the "no_record" card or a number of no sample card is 10026.
// The face itself always matches: the fake has no face to compare.
func (w *WeChat) faceByCardLocked(c *faceCheck) int {
	card, ok := w.faceCards[strings.ToUpper(c.number)]
	switch {
	case !ok || card.Check == "no_record":
		return FaceNoRecord
	case card.Check == "mismatch" || card.Name != c.name:
		return FaceIDMismatch
	}
	return FacePassed
}

// decodeFaceBody reads a JSON object of at most faceMaxBody bytes into v,
// answering 47001 itself when it cannot.
func decodeFaceBody(rw http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, faceMaxBody+1))
	if err != nil || len(body) > faceMaxBody || json.Unmarshal(body, v) != nil {
		writeWx(rw, wxErr(47001))
		return false
	}
	return true
}

// faceSeqOK applies the document's rule for out_seq_no: 5 to 32
// characters of [0-9A-Za-z_-].
func faceSeqOK(s string) bool {
	if len(s) < faceSeqMin || len(s) > faceSeqMax {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// faceCertHash is cert_hash as the document defines it: the standard
// Base64 of each value's UTF-8 bytes, joined as
// cert_type=…&cert_name=…&cert_no=…, hashed with SHA-256, lower-case hex.
func faceCertHash(c faceCert) string {
	enc := base64.StdEncoding.EncodeToString
	s := "cert_type=" + enc([]byte(c.Type)) + "&cert_name=" + enc([]byte(c.Name)) + "&cert_no=" + enc([]byte(c.Number))
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newVerifyID returns 43 random URL-safe characters; the document only
// says a verify_id is at most 256 characters.
func newVerifyID() string {
	b := make([]byte, faceVerifyIDBytes)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenApp is tokenOK that also tells whose token it is, for the APIs
// whose answers depend on the app.
func (w *WeChat) tokenApp(rw http.ResponseWriter, r *http.Request) (string, bool) {
	token := r.URL.Query().Get("access_token")
	if token == "" {
		writeWx(rw, wxErr(41001))
		return "", false
	}
	w.mu.Lock()
	t, werr := w.tokenLocked(token, w.opts.Now())
	w.mu.Unlock()
	if werr != nil {
		writeWx(rw, werr)
		return "", false
	}
	return t.appid, true
}
