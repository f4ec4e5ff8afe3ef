package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ApizeroUpstream is the upstream name the apizero fake registers under,
// for fault injection (POST /_sandbox/faults {"upstream":"apizero",…}).
const ApizeroUpstream = "apizero"

// ApizeroPrefix is where the apizero fake lives on the sandbox: a client's
// API root is the sandbox URL + ApizeroPrefix, and the documented
// /api/ocr-idcard follows it.
const ApizeroPrefix = "/apizero"

// SandboxApizeroKey is the API key NewApizero accepts when given none.
const SandboxApizeroKey = "sandbox-apizero-key"

const (
	// apizeroMaxBase64 is "base64 最大 10 MB", read as 10,000,000
	// characters: the stricter reading, so a client that counts in MiB
	// is caught here rather than by the vendor.
	apizeroMaxBase64 = 10_000_000
	// apizeroMaxRaw is what a downloaded input_data URL may weigh: the
	// image whose base64 is apizeroMaxBase64.
	apizeroMaxRaw = apizeroMaxBase64 / 4 * 3
)

// Apizero fakes apizero's POST /api/ocr-idcard. It is safe for concurrent use.
//
// What the document leaves open, the fake decides as follows, and the
// client does not depend on it beyond "a code is in the body":
//   - The documented codes are answered with HTTP status code/10 (4000 →
//     400, 5020 and 5021 → 502, 5030 → 503), the pattern they follow, and
//     the body {"code","status","msg","data":null,"request_id"}.
//   - No auth, quota or rate-limit code is documented. A missing or wrong
//     key is HTTP 401 code 4010 UNAUTHORIZED, the QPS limit HTTP 429 code
//     4290 RATE_LIMITED, the daily allowance HTTP 429 code 4291
//     QUOTA_EXCEEDED, by the same pattern.
//   - The key is accepted as "X-Api-Key: <key>" (the examples) and as
//     "Authorization: Bearer <key>" (the text).
//   - Dates are YYYY-MM-DD like the example's birth; valid_date_end is "长期"
//     for cards that never expire.
type Apizero struct {
	cards  *Cards
	key    string
	client *http.Client

	mu      sync.Mutex
	limiter *rate.Limiter // nil: the 2 req/s limit is not enforced
}

// NewApizero returns a fake that accepts key (SandboxApizeroKey when empty)
// and reads the sample cards. The 2 req/s limit is off until EnforceRate.
func NewApizero(cards *Cards, key string) *Apizero {
	if key == "" {
		key = SandboxApizeroKey
	}
	return &Apizero{cards: cards, key: key, client: &http.Client{Timeout: 5 * time.Second}}
}

// EnforceRate switches the documented 2 req/s limit on or off. It is off
// by default because tests and the bench harness call far faster.
func (z *Apizero) EnforceRate(on bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.limiter = nil
	if on {
		z.limiter = rate.NewLimiter(2, 2)
	}
}

// Mount registers POST /apizero/api/ocr-idcard on s under upstream "apizero".
func (z *Apizero) Mount(s *Server) {
	s.Register(ApizeroUpstream, "POST "+ApizeroPrefix+"/api/ocr-idcard", http.HandlerFunc(z.serve), z.writeFailure)
}

// apizeroError is one of apizero's error answers.
type apizeroError struct {
	code   int
	status string
	msg    string
}

var (
	apizeroValidation = apizeroError{4000, "VALIDATION_ERROR", "参数缺失或格式错误"}
	apizeroUpstream   = apizeroError{5020, "UPSTREAM_ERROR", "上游 OCR 服务不可用,请稍后重试"}
	apizeroInvalid    = apizeroError{5021, "UPSTREAM_INVALID", "图片无法识别,请确认为清晰的身份证正面或反面照片"}
	apizeroAuth       = apizeroError{4010, "UNAUTHORIZED", "缺少或无效的 API Key"}
	apizeroRateLimit  = apizeroError{4290, "RATE_LIMITED", "超过 QPS 限制 2 req/s"}
	apizeroQuota      = apizeroError{4291, "QUOTA_EXCEEDED", "今日免费额度已用完"}
)

func (e apizeroError) withMsg(msg string) apizeroError { e.msg = msg; return e }

func writeApizeroError(w http.ResponseWriter, e apizeroError) {
	writeJSON(w, e.code/10, map[string]any{
		"code": e.code, "status": e.status, "msg": e.msg, "data": nil, "request_id": apizeroRequestID(),
	})
}

// writeFailure renders the fault modes: error is the documented
// UPSTREAM_ERROR, quota the daily allowance running out.
func (z *Apizero) writeFailure(w http.ResponseWriter, _ *http.Request, mode string) {
	if mode == ModeQuota {
		writeApizeroError(w, apizeroQuota)
		return
	}
	writeApizeroError(w, apizeroUpstream)
}

// apizeroData is the documented data object; nil pointers render as null,
// as the example shows for the fields of the other side.
type apizeroData struct {
	Side           int     `json:"side"`
	IdentityName   *string `json:"identity_name"`
	IdentityCode   *string `json:"identity_code"`
	Gender         *string `json:"gender"`
	Race           *string `json:"race"`
	Birth          *string `json:"birth"`
	Address        *string `json:"address"`
	IssuedBy       *string `json:"issued_by"`
	ValidDateStart *string `json:"valid_date_start"`
	ValidDateEnd   *string `json:"valid_date_end"`
}

// serve checks the key, the rate, the body and the image, in that order.
func (z *Apizero) serve(w http.ResponseWriter, r *http.Request) {
	if !z.authorized(r) {
		writeApizeroError(w, apizeroAuth)
		return
	}
	z.mu.Lock()
	limited := z.limiter != nil && !z.limiter.Allow()
	z.mu.Unlock()
	if limited {
		writeApizeroError(w, apizeroRateLimit)
		return
	}
	var body struct {
		InputType string `json:"input_type"`
		InputData string `json:"input_data"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, apizeroMaxBase64+4096)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeApizeroError(w, apizeroValidation.withMsg("请求体不是合法的 JSON 或超过 10 MB"))
		return
	}
	var data []byte
	switch {
	case body.InputType != "url" && body.InputType != "base64":
		writeApizeroError(w, apizeroValidation.withMsg("input_type 必须是 url 或 base64"))
		return
	case body.InputData == "":
		writeApizeroError(w, apizeroValidation.withMsg("input_data 不能为空"))
		return
	case body.InputType == "base64":
		if len(body.InputData) > apizeroMaxBase64 {
			writeApizeroError(w, apizeroValidation.withMsg("base64 最大 10 MB"))
			return
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(body.InputData); err != nil {
			writeApizeroError(w, apizeroValidation.withMsg("input_data 不是合法的 base64"))
			return
		}
	default:
		var ok bool
		if data, ok = z.download(r, body.InputData); !ok {
			writeApizeroError(w, apizeroInvalid)
			return
		}
	}
	card, side, err := z.cards.Recognize(data)
	if err != nil {
		writeApizeroError(w, apizeroInvalid)
		return
	}
	d := apizeroData{Side: 1}
	if side == SideFront {
		d.IdentityName, d.IdentityCode, d.Gender = &card.Name, &card.IDNumber, &card.Sex
		d.Race, d.Birth, d.Address = &card.Ethnicity, &card.Birth, &card.Address
	} else {
		d.Side = 0
		d.IssuedBy, d.ValidDateStart, d.ValidDateEnd = &card.Authority, &card.ValidFrom, &card.ValidTo
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "成功", "data": d, "request_id": apizeroRequestID()})
}

// authorized accepts the key in X-Api-Key or as a Bearer token.
func (z *Apizero) authorized(r *http.Request) bool {
	got := r.Header.Get("X-Api-Key")
	if got == "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = bearer
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(z.key)) == 1
}

// download fetches an input_data URL, at most the documented size.
func (z *Apizero) download(r *http.Request, raw string) ([]byte, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false
	}
	resp, err := z.client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, apizeroMaxRaw+1))
	if err != nil || len(data) > apizeroMaxRaw {
		return nil, false
	}
	return data, true
}

// apizeroRequestID is a fresh id like the example's "req_abc123".
func apizeroRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return "req_" + hex.EncodeToString(b[:])
}
