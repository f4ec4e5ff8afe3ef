package ocr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"realname/service/transport"
	"realname/service/vendorcode"
)

// ApizeroName is the provider name of apizero in config, metrics and
// attempt records.
const ApizeroName = "apizero"

// ApizeroDefaultBase is apizero's documented API root; the endpoint is
// this plus /api/ocr-idcard.
const ApizeroDefaultBase = "https://v1.apizero.cn"

const (
	apizeroPath = "/api/ocr-idcard"
	// apizeroMaxBytes keeps input_data within "base64 最大 10 MB": 7.5 MB
	// of image is at most 10,000,000 base64 characters. Whether MB means
	// 10^6 or 2^20 bytes is not documented; the smaller is safe.
	apizeroMaxBytes = 7_500_000
	// apizeroMaxSide is not documented: a card is read at far fewer
	// pixels, and shrinking a 50 MP photo saves upload time.
	apizeroMaxSide = 4096
	// apizeroRate is the documented "QPS 限制 2 req/s".
	apizeroRate = 2
	// answerMaxBytes bounds any vendor answer read: a card's fields are a
	// few hundred bytes, so anything near this is not an OCR answer.
	answerMaxBytes = 64 << 10
)

// Apizero codes the client classifies (section 8 of the vendor document).
const (
	apizeroOK              = 0
	apizeroValidationError = 4000 // VALIDATION_ERROR: our request is malformed
	apizeroUpstreamError   = 5020 // UPSTREAM_ERROR: their OCR is down
	apizeroUpstreamInvalid = 5021 // UPSTREAM_INVALID: the image is no readable card
	apizeroUpstreamMissing = 5030 // UPSTREAM_MISSING: OCR not enabled for the account
)

// Apizero reads ID cards with apizero's ocr-idcard (极数本源). It implements
// Provider and is safe for concurrent use.
//
// Readings of the vendor document where it is vague:
//   - Auth: section 2 says "Authorization: Bearer <key>", while every one of
//     its five "directly runnable" examples sends "X-Api-Key: <key>". The
//     client sends X-Api-Key only, as the examples do; the sandbox accepts
//     either.
//   - The image goes as input_type "base64" with plain standard base64 in
//     input_data (no "data:image/…;base64," prefix), so no URL of the photo
//     is ever exposed.
//   - side is a response field (1 front, 0 back); the request has no side
//     parameter, so Request.Side only serves to warn "wrong_side".
//   - Only codes 4000, 5020, 5021 and 5030 are documented. The answer's code
//     decides when there is one, whatever the HTTP status; 5021 ("图片无法
//     识别") is the one definitive answer (ErrNoCard). Everything else —
//     undocumented codes, HTTP 401/403/429/5xx without a code, transport
//     errors, timeouts — is ErrProvider with the code (or "http_NNN") kept.
//   - The 2 req/s limit is per API key; the limiter here is per process.
//     Instances sharing a key are kept under it together by a limit counted
//     in Redis (Throttled with ratelimit.Shared, REALNAME_APIZERO_QPS); a
//     refusal that still comes is an ErrProvider like any other.
type Apizero struct {
	endpoint string
	key      string
	client   *http.Client
	limiter  *rate.Limiter
}

// NewApizero builds the provider. baseURL is the API root without the
// path (ApizeroDefaultBase when empty; the sandbox's URL + "/apizero" in
// tests); client nil means one with a 15 s timeout, the document's own
// examples' value. Calls are spaced to 2 per second.
func NewApizero(baseURL, key string, client *http.Client) *Apizero {
	if baseURL == "" {
		baseURL = ApizeroDefaultBase
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Apizero{
		endpoint: strings.TrimRight(baseURL, "/") + apizeroPath,
		key:      key,
		client:   client,
		// Burst 1 spaces calls 500 ms apart, so no one-second window of
		// the vendor's ever sees more than two.
		limiter: rate.NewLimiter(apizeroRate, 1),
	}
}

// SetRateLimit changes the client-side limit (per second, and the burst);
// rate.Inf switches it off. It is safe to call while calls are running.
func (a *Apizero) SetRateLimit(limit rate.Limit, burst int) {
	a.limiter.SetLimit(limit)
	a.limiter.SetBurst(burst)
}

// Name returns "apizero".
func (a *Apizero) Name() string { return ApizeroName }

// apizeroRequest is the documented body: input_type url|base64 and input_data.
type apizeroRequest struct {
	InputType string `json:"input_type"`
	InputData string `json:"input_data"`
}

// apizeroAnswer is the documented answer; errors carry code, status and msg.
type apizeroAnswer struct {
	Code      *vendorcode.Code `json:"code"`
	Msg       string           `json:"msg"`
	Status    string           `json:"status"`
	Data      *apizeroData     `json:"data"`
	RequestID string           `json:"request_id"`
}

// apizeroData holds the 10 documented fields; JSON null leaves a string empty.
type apizeroData struct {
	Side           *vendorcode.Code `json:"side"`
	IdentityName   string           `json:"identity_name"`
	IdentityCode   string           `json:"identity_code"`
	Gender         string           `json:"gender"`
	Race           string           `json:"race"`
	Birth          string           `json:"birth"`
	Address        string           `json:"address"`
	IssuedBy       string           `json:"issued_by"`
	ValidDateStart string           `json:"valid_date_start"`
	ValidDateEnd   string           `json:"valid_date_end"`
}

// Recognize uploads req.Image as base64, shrunk to the documented limit
// when needed, after waiting its turn under the 2 req/s limit (a context
// that ends first fails the call as ErrProvider without sending it).
func (a *Apizero) Recognize(ctx context.Context, req Request) (Result, error) {
	img, err := Fit(req.Image, apizeroMaxBytes, apizeroMaxSide)
	if err != nil {
		return Result{}, &Error{Provider: ApizeroName, Kind: ErrBadImage, Err: err}
	}
	body, err := json.Marshal(apizeroRequest{InputType: "base64", InputData: base64.StdEncoding.EncodeToString(img)})
	if err != nil {
		return Result{}, a.fail("", fmt.Errorf("encode request: %w", err))
	}
	if err := a.limiter.Wait(ctx); err != nil {
		return Result{}, a.fail("", fmt.Errorf("waiting for the 2 req/s limit: %w", err))
	}
	status, ans, err := a.post(ctx, body)
	if err != nil {
		return Result{}, a.fail(httpCode(status), err)
	}
	if ans.Code == nil || (int64(*ans.Code) == apizeroOK && status != http.StatusOK) {
		return Result{}, a.fail(httpCode(status), fmt.Errorf("answer has code %s with HTTP %d", ans.Code, status))
	}
	if code := int64(*ans.Code); code != apizeroOK {
		e := a.fail(strconv.FormatInt(code, 10),
			fmt.Errorf("answered code %d %s: %s (HTTP %d, request_id %s)", code, ans.Status, clip(ans.Msg), status, ans.RequestID))
		if code == apizeroUpstreamInvalid {
			e.Kind = ErrNoCard
		}
		return Result{}, e
	}
	if ans.Data == nil {
		return Result{}, a.fail("0", errors.New("answer has code 0 but no data"))
	}
	res, err := apizeroResult(*ans.Data)
	if err != nil {
		return Result{}, a.fail("0", err)
	}
	if req.Side != SideAuto && req.Side != res.Side {
		res.Warnings = append(res.Warnings, WarnWrongSide)
	}
	return res, nil
}

// post makes the call. Its errors quote neither the key (a header) nor
// the body (the photo), and a url.Error is unwrapped so no URL shows.
func (a *Apizero) post(ctx context.Context, body []byte) (int, apizeroAnswer, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, apizeroAnswer{}, errors.New("build request failed")
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("X-Api-Key", a.key)
	resp, err := a.client.Do(hreq)
	if err != nil {
		return 0, apizeroAnswer{}, fmt.Errorf("ocr-idcard request: %w", transport.Cause(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, answerMaxBytes+1))
	if err != nil {
		return resp.StatusCode, apizeroAnswer{}, fmt.Errorf("ocr-idcard read answer: %w", transport.Cause(err))
	}
	if len(data) > answerMaxBytes {
		return resp.StatusCode, apizeroAnswer{}, fmt.Errorf("ocr-idcard answer is over %d bytes (HTTP %d)", answerMaxBytes, resp.StatusCode)
	}
	var ans apizeroAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		// Not JSON: a gateway's 502 page, a 401 from a proxy. The status
		// is all there is to classify, and it is a provider failure.
		return resp.StatusCode, apizeroAnswer{}, fmt.Errorf("ocr-idcard answered HTTP %d without a JSON body", resp.StatusCode)
	}
	return resp.StatusCode, ans, nil
}

func (a *Apizero) fail(code string, err error) *Error {
	return &Error{Provider: ApizeroName, Kind: ErrProvider, Code: code, Err: err}
}

// apizeroResult normalises a code-0 answer. side null is inferred from
// which fields came back; an answer with no side and no fields is not one
// the document describes, so it counts against the vendor.
func apizeroResult(d apizeroData) (Result, error) {
	res := Result{Provider: ApizeroName}
	f := &res.Fields
	f.Name = strings.TrimSpace(d.IdentityName)
	f.IDNumber = cardIDNumber(d.IdentityCode)
	f.Sex = strings.TrimSpace(d.Gender)
	f.Ethnicity = cardEthnicity(d.Race)
	f.Address = strings.TrimSpace(d.Address)
	f.Birth = cardDate(d.Birth)
	if f.Birth == "" {
		f.Birth = birthFromID(f.IDNumber)
	}
	f.Authority = strings.TrimSpace(d.IssuedBy)
	f.ValidFrom = cardDate(d.ValidDateStart)
	f.ValidTo, f.LongTerm = cardExpiry(d.ValidDateEnd)
	front := f.Name != "" || f.IDNumber != ""
	back := f.Authority != "" || f.ValidFrom != "" || f.ValidTo != "" || f.LongTerm
	switch {
	case d.Side != nil && *d.Side == 1 && front:
		f.Side = SideFront
	case d.Side != nil && *d.Side == 0 && back:
		f.Side = SideBack
	case d.Side == nil && front && !back:
		f.Side = SideFront
	case d.Side == nil && back && !front:
		f.Side = SideBack
	default:
		return Result{}, fmt.Errorf("answer with side %s has no fields of that side", d.Side)
	}
	return res, nil
}

// WarnWrongSide is the warning for a photo of the other side than the
// user said; the WeChat provider uses the same code.
const WarnWrongSide = "wrong_side"

// httpCode is the Error.Code of an answer that carries no vendor code.
func httpCode(status int) string {
	if status == 0 || status == http.StatusOK {
		return ""
	}
	return "http_" + strconv.Itoa(status)
}

// clip shortens a vendor message for an error string; messages are the
// vendor's, but an unbounded one has no place in a log line.
func clip(s string) string {
	const limit = 200
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// cardIDNumber normalises an ID number: spaces out, the check digit X
// upper-cased whether read as x or as a full-width character.
func cardIDNumber(id string) string {
	id = strings.NewReplacer("ｘ", "X", "Ｘ", "X", " ", "", "\u3000", "").Replace(strings.TrimSpace(id))
	return strings.ToUpper(id)
}

// cardEthnicity is 民族 as printed on the card, without the 族 suffix.
func cardEthnicity(s string) string {
	return strings.TrimSuffix(strings.TrimSpace(s), "族")
}

// cardDate turns the date spellings vendors use (1990-01-01, 19900101,
// 1990.01.01, 1990/1/1, 1990年1月1日) into YYYY-MM-DD, or "" when s is
// no calendar date.
func cardDate(s string) string {
	s = strings.TrimSpace(s)
	var parts []string
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		parts = []string{s[:4], s[4:6], s[6:]}
	} else {
		parts = strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	}
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return ""
	}
	y, _ := strconv.Atoi(parts[0])
	m, _ := strconv.Atoi(parts[1])
	d, _ := strconv.Atoi(parts[2])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return ""
	}
	return t.Format(time.DateOnly)
}

// cardExpiry reads the end of validity: "长期" (and "长期有效") means the
// card never expires.
func cardExpiry(s string) (to string, longTerm bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "长期") {
		return "", true
	}
	return cardDate(s), false
}

// birthFromID reads the birth date out of an 18-digit ID number (digits
// 7-14), for answers that leave the birth field out; "" when no date.
func birthFromID(id string) string {
	if len(id) != 18 {
		return ""
	}
	return cardDate(id[6:14])
}
