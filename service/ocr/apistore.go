package ocr

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"realname/service/transport"
	"realname/service/vendorcode"
)

// ApistoreName is the provider name of API-store in config, metrics and
// attempt records.
const ApistoreName = "apistore"

const (
	// apistoreMaxEncoded is "base64编码和urlencode后大小不超过4M", read as
	// 4,000,000 bytes (the smaller meaning of M) of url_image as sent.
	apistoreMaxEncoded = 4_000_000
	// apistoreMaxSide and apistoreMinSide are "最短边至少15px,最长边最大4096px".
	apistoreMaxSide = 4096
	apistoreMinSide = 15
	apistoreSuccess = 10000
)

// Warning codes of API-store's image_status and idcard_number_type; the
// other vendors use the same codes for the same doubts.
const (
	WarnBlurred       = "blurred"              // image_status blurred
	WarnGlare         = "glare"                // over_exposure: key fields reflect or are over-exposed
	WarnDark          = "dark"                 // over_dark: under-exposed
	WarnUnknownStatus = "image_status_unknown" // unknown, or a value the document does not list
	WarnIDInvalid     = "id_number_invalid"    // idcard_number_type 0: the number was withheld as invalid
	WarnIDBirth       = "id_birth_mismatch"    // idcard_number_type 2 or 3
	WarnIDSex         = "id_sex_mismatch"      // idcard_number_type 2 or 4
)

// Apistore reads ID cards with API-store's 身份证信息识别 (pyi/76/194). It
// implements Provider and is safe for concurrent use.
//
// Readings of the vendor document where it is vague:
//   - The host is only shown after login, so the full endpoint URL is
//     configuration.
//   - Parameters go as an application/x-www-form-urlencoded POST body, as
//     the document prescribes (its own examples use a GET query). Empty
//     values (id_card_side when the side is unknown) are left out, as its
//     Python example does; they would not count in the sign either way.
//   - image_status and idcard_number_type are listed next to codeid, so
//     they are read at the top level, and inside retdata when absent there.
//     codeid and idcard_number_type are accepted as numbers or strings.
//   - Every codeid but 10000 is a provider failure (auth, subscription,
//     quota, clock, server): none of them is about the photo. Answers about
//     the photo come with 10000 (and are billed): image_status non_idcard or
//     other_type_card is ErrNoCard; blurred, over_exposure or over_dark with
//     nothing read is ErrBadImage, and a warning when fields were read.
type Apistore struct {
	endpoint string
	appID    string
	secret   string
	client   *http.Client
	now      func() time.Time
}

// NewApistore builds the provider. endpointURL is the full URL (the host
// shown after login + /pyi/76/194; the sandbox's URL + "/apistore/pyi/76/194"
// in tests); client nil means one with a 15 s timeout.
func NewApistore(endpointURL, appID, secret string, client *http.Client) *Apistore {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Apistore{endpoint: endpointURL, appID: appID, secret: secret, client: client, now: time.Now}
}

// Name returns "apistore".
func (a *Apistore) Name() string { return ApistoreName }

// ApistoreSign is the document's sign rule: the parameters sorted by name,
// those with an empty value skipped, each written as name then value, the
// secret appended without a name, and the lowercase hex MD5 of it all
// (PHP md5(), Python hexdigest()). Any "sign" already in params is left
// out, since the rule signs the parameters before sign is added. Only the
// first value of a name counts; the API takes one of each.
func ApistoreSign(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := md5.New()
	for _, k := range keys {
		if v := params.Get(k); v != "" {
			io.WriteString(h, k)
			io.WriteString(h, v)
		}
	}
	io.WriteString(h, secret)
	return hex.EncodeToString(h.Sum(nil))
}

// apistoreAnswer is the documented answer. retdata is "数据、对象或者字符串"
// depending on the outcome, so it is decoded only on success.
type apistoreAnswer struct {
	CodeID      *vendorcode.Code `json:"codeid"`
	Message     string           `json:"message"`
	ImageStatus string           `json:"image_status"`
	NumberType  *vendorcode.Code `json:"idcard_number_type"`
	RetData     json.RawMessage  `json:"retdata"`
}

// Recognize posts req.Image as base64 in url_image, shrunk to the
// documented limits when needed, and normalises the answer.
func (a *Apistore) Recognize(ctx context.Context, req Request) (Result, error) {
	img, err := apistoreImage(req.Image)
	if err != nil {
		return Result{}, &Error{Provider: ApistoreName, Kind: ErrBadImage, Err: err}
	}
	form := url.Values{
		"appid":     {a.appID},
		"format":    {"json"},
		"time":      {strconv.FormatInt(a.now().Unix(), 10)},
		"url_image": {img},
	}
	if req.Side == SideFront || req.Side == SideBack {
		form.Set("id_card_side", string(req.Side))
	}
	form.Set("sign", ApistoreSign(form, a.secret))
	ans, err := a.post(ctx, form.Encode())
	if err != nil {
		return Result{}, err
	}
	return apistoreResult(ans, req.Side)
}

// apistoreImage fits data to the limits and returns its base64. The 4M
// limit counts the base64 after URL encoding, where + / = take three bytes
// each, so the encoded size is checked and the image shrunk again if the
// first estimate was short.
func apistoreImage(data []byte) (string, error) {
	maxRaw := apistoreMaxEncoded / 4 * 3 * 9 / 10 // base64 adds 1/3, escaping a few % more
	for range 4 {
		img, err := Fit(data, maxRaw, apistoreMaxSide)
		if err != nil {
			return "", err
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			return "", err
		}
		if min(cfg.Width, cfg.Height) < apistoreMinSide {
			return "", fmt.Errorf("ocr: image: %dx%d has a side under %d px", cfg.Width, cfg.Height, apistoreMinSide)
		}
		enc := base64.StdEncoding.EncodeToString(img)
		n := len(enc) + 2*(strings.Count(enc, "+")+strings.Count(enc, "/")+strings.Count(enc, "="))
		if n <= apistoreMaxEncoded {
			return enc, nil
		}
		maxRaw = int(float64(len(img)) * float64(apistoreMaxEncoded) / float64(n) * 0.95)
	}
	return "", errors.New("ocr: image: cannot be brought under 4M of url-encoded base64")
}

// post sends the form. Errors quote neither the body (photo and sign)
// nor the URL.
func (a *Apistore) post(ctx context.Context, body string) (apistoreAnswer, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, strings.NewReader(body))
	if err != nil {
		return apistoreAnswer{}, a.fail("", errors.New("build request failed (endpoint URL)"))
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	hreq.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(hreq)
	if err != nil {
		return apistoreAnswer{}, a.fail("", fmt.Errorf("request: %w", transport.Cause(err)))
	}
	defer resp.Body.Close()
	code := httpCode(resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return apistoreAnswer{}, a.fail(code, fmt.Errorf("answered HTTP %d", resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, answerMaxBytes+1))
	if err != nil {
		return apistoreAnswer{}, a.fail("", fmt.Errorf("read answer: %w", transport.Cause(err)))
	}
	if len(data) > answerMaxBytes {
		return apistoreAnswer{}, a.fail("", fmt.Errorf("answer is over %d bytes", answerMaxBytes))
	}
	var ans apistoreAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return apistoreAnswer{}, a.fail("", fmt.Errorf("decode answer: %w", err))
	}
	if ans.CodeID == nil {
		return apistoreAnswer{}, a.fail("", errors.New("answer has no codeid"))
	}
	if *ans.CodeID != apistoreSuccess {
		return apistoreAnswer{}, a.fail(ans.CodeID.String(),
			fmt.Errorf("answered codeid %d: %s", *ans.CodeID, clip(ans.Message)))
	}
	return ans, nil
}

func (a *Apistore) fail(code string, err error) *Error {
	return &Error{Provider: ApistoreName, Kind: ErrProvider, Code: code, Err: err}
}

// apistoreFields maps retdata's Chinese names onto Fields.
var apistoreFields = map[string]func(f *Fields, v string){
	"姓名":     func(f *Fields, v string) { f.Name = v },
	"性别":     func(f *Fields, v string) { f.Sex = v },
	"民族":     func(f *Fields, v string) { f.Ethnicity = cardEthnicity(v) },
	"出生":     func(f *Fields, v string) { f.Birth = cardDate(v) },
	"住址":     func(f *Fields, v string) { f.Address = v },
	"公民身份号码": func(f *Fields, v string) { f.IDNumber = cardIDNumber(v) },
	"签发机关":   func(f *Fields, v string) { f.Authority = v },
	"签发日期":   func(f *Fields, v string) { f.ValidFrom = cardDate(v) },
	"失效日期":   func(f *Fields, v string) { f.ValidTo, f.LongTerm = cardExpiry(v) },
}

// apistoreResult turns a codeid 10000 answer into a result or a definitive
// error. retdata names no side, so the side is the one whose fields came
// back; reversed_side (or a side other than asked) is the wrong_side warning.
func apistoreResult(ans apistoreAnswer, asked Side) (Result, error) {
	ret, err := apistoreRetData(ans.RetData)
	if err != nil {
		return Result{}, &Error{Provider: ApistoreName, Kind: ErrProvider, Code: "10000", Err: err}
	}
	status, numberType := ans.ImageStatus, ans.NumberType
	if status == "" {
		status = ret["image_status"]
	}
	if numberType == nil && ret["idcard_number_type"] != "" {
		// retdata's values are flattened to text; read it as the string code it now is.
		var c vendorcode.Code
		if c.UnmarshalJSON([]byte(strconv.Quote(ret["idcard_number_type"]))) == nil {
			numberType = &c
		}
	}
	switch status {
	case "non_idcard", "other_type_card":
		return Result{}, &Error{Provider: ApistoreName, Kind: ErrNoCard, Code: status,
			Err: fmt.Errorf("image_status %s", status)}
	}
	res := Result{Provider: ApistoreName}
	f := &res.Fields
	for name, set := range apistoreFields {
		if v := strings.TrimSpace(ret[name]); v != "" {
			set(f, v)
		}
	}
	if f.Birth == "" {
		f.Birth = birthFromID(f.IDNumber)
	}
	front := f.Name != "" || f.IDNumber != "" || f.Address != ""
	back := f.Authority != "" || f.ValidFrom != "" || f.ValidTo != "" || f.LongTerm
	switch {
	case front && (!back || asked != SideBack):
		f.Side = SideFront
	case back:
		f.Side = SideBack
	case status == "blurred" || status == "over_exposure" || status == "over_dark":
		return Result{}, &Error{Provider: ApistoreName, Kind: ErrBadImage, Code: status,
			Err: fmt.Errorf("image_status %s and no field read", status)}
	default:
		return Result{}, &Error{Provider: ApistoreName, Kind: ErrProvider, Code: "10000",
			Err: fmt.Errorf("answer with image_status %q has no fields", status)}
	}
	res.Warnings = apistoreWarnings(status, numberType, f.Side)
	if status != "reversed_side" && asked != SideAuto && asked != f.Side {
		res.Warnings = append(res.Warnings, WarnWrongSide)
	}
	return res, nil
}

// apistoreWarnings maps image_status and, for the front, the
// idcard_number_type consistency check onto warning codes. -1 ("all front
// fields empty") and 1 (consistent) add nothing: an empty front is already
// refused by apistoreResult.
func apistoreWarnings(status string, numberType *vendorcode.Code, side Side) []string {
	var w []string
	switch status {
	case "", "normal":
	case "reversed_side":
		w = append(w, WarnWrongSide)
	case "blurred":
		w = append(w, WarnBlurred)
	case "over_exposure":
		w = append(w, WarnGlare)
	case "over_dark":
		w = append(w, WarnDark)
	default: // "unknown" and anything the document does not list
		w = append(w, WarnUnknownStatus)
	}
	if numberType == nil || side != SideFront {
		return w
	}
	switch *numberType {
	case 0:
		w = append(w, WarnIDInvalid)
	case 2:
		w = append(w, WarnIDBirth, WarnIDSex)
	case 3:
		w = append(w, WarnIDBirth)
	case 4:
		w = append(w, WarnIDSex)
	}
	return w
}

// apistoreRetData reads retdata as an object of strings. An empty string
// or array (what such APIs send when there is nothing) is no fields;
// numbers keep every digit (an ID number must not pass through float64).
func apistoreRetData(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", `""`, "[]", "{}":
		return map[string]string{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("retdata is not an object: %w", err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		}
	}
	return out, nil
}
