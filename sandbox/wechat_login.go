package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// sessionAnswer is the success body of sns/jscode2session. WeChat sends no
// errcode on success, and no unionid for apps without an Open Platform
// account.
type sessionAnswer struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
}

// serveCode2Session is GET /sns/jscode2session. The fake has no real
// wx.login, so the code itself says who logs in: the part before the first
// ':' names the user ("alice:1" and "alice:2" are two logins of alice), and
// prefixes pick the failures tests need ("invalid…" 40029, "risky…" 40226,
// "ratelimit…" 45011). Each code is accepted once per app.
func (w *WeChat) serveCode2Session(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appid, code := q.Get("appid"), q.Get("js_code")
	if _, werr := w.authenticate(q.Get("grant_type"), "authorization_code", appid, q.Get("secret")); werr != nil {
		writeWx(rw, werr)
		return
	}
	switch {
	case !wellFormedCode(code) || strings.HasPrefix(code, "invalid"):
		writeWx(rw, wxErr(40029))
		return
	case strings.HasPrefix(code, "risky"):
		writeWx(rw, wxErr(40226))
		return
	case strings.HasPrefix(code, "ratelimit"):
		writeWx(rw, wxErr(45011))
		return
	}
	key := appid + "\x00" + code
	w.mu.Lock()
	_, used := w.used[key]
	w.used[key] = struct{}{}
	w.mu.Unlock()
	if used {
		writeWx(rw, wxErr(40163))
		return
	}
	user, _, _ := strings.Cut(code, ":")
	answer := sessionAnswer{OpenID: wxUserID(appid + "/" + user), SessionKey: newSessionKey()}
	if !w.opts.NoUnionID {
		// Without the appid: the same person has one unionid across the
		// apps of an Open Platform account.
		answer.UnionID = wxUserID("u/" + user)
	}
	writeWx(rw, answer)
}

// wellFormedCode accepts 1 to 128 characters of [A-Za-z0-9_:.-]; real
// codes are 32 such characters.
func wellFormedCode(code string) bool {
	if code == "" || len(code) > 128 {
		return false
	}
	for _, c := range []byte(code) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// wxUserID derives a stable 28-character id shaped like WeChat's openids
// and unionids: "o" and 27 URL-safe characters.
func wxUserID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// newSessionKey returns 16 random bytes in standard base64 (24
// characters), the shape of WeChat's session_key.
func newSessionKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.StdEncoding.EncodeToString(b)
}
