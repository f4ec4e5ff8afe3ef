package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"realname/service/ocr"
	"realname/service/vendorcode"
)

// OCRName is the provider name of WeChat OCR in config, metrics and
// attempt records.
const OCRName = "wechat"

const (
	// ocrMaxBytes keeps uploads under WeChat's "less than 2 M". Whether M
	// means 2,000,000 or 2 MiB is not documented; the smaller is safe.
	ocrMaxBytes = 2_000_000
	// ocrMaxSide is not a documented WeChat limit: a card needs far fewer
	// pixels to be read, and WeChat may refuse huge dimensions (the
	// sandbox refuses 40 MP) even when the bytes fit.
	ocrMaxSide = 4096
	// ocrMaxAnswer bounds the answer read: a card's fields are a few
	// hundred bytes, so anything near this is not an OCR answer.
	ocrMaxAnswer = 64 << 10
)

// TokenDoer runs fn with an access_token of appID and retries it once with a
// fresh token when fn's error has an ErrCode() of 40001, 40014 or 42001;
// realname/service/token.(*Service).Do is the real one.
type TokenDoer interface {
	Do(ctx context.Context, appID string, fn func(token string) error) error
}

// OCR reads ID cards with WeChat's cv/ocr/idcard. It implements
// ocr.Provider and is safe for concurrent use.
type OCR struct {
	endpoint string // base + /cv/ocr/idcard, without the query
	client   *http.Client
	appID    string
	tokens   TokenDoer
}

// NewOCR builds the provider for appID's quota. base is WeChat's API root
// (DefaultAPIBase when empty, or the sandbox); client nil means one with a
// 10 s timeout. The chain's per-vendor deadline arrives through the
// context, so the client timeout is only a backstop.
func NewOCR(base string, client *http.Client, appID string, tokens TokenDoer) (*OCR, error) {
	root, err := apiRoot(base, "OCR")
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OCR{endpoint: root + "/cv/ocr/idcard", client: client, appID: appID, tokens: tokens}, nil
}

// Name returns "wechat".
func (o *OCR) Name() string { return OCRName }

// Recognize uploads req.Image, shrunk below WeChat's limit when needed, and
// normalises the answer. A rejected access_token is retried once by the
// token source. Every failure is an *ocr.Error, with WeChat's errcode in
// Code when WeChat answered one.
func (o *OCR) Recognize(ctx context.Context, req ocr.Request) (ocr.Result, error) {
	img, err := ocr.Fit(req.Image, ocrMaxBytes, ocrMaxSide)
	if err != nil {
		return ocr.Result{}, &ocr.Error{Provider: OCRName, Kind: ocr.ErrBadImage, Err: err}
	}
	body, contentType, err := uploadForm(img)
	if err != nil {
		return ocr.Result{}, &ocr.Error{Provider: OCRName, Kind: ocr.ErrProvider, Err: err}
	}
	var ans idcardAnswer
	err = o.tokens.Do(ctx, o.appID, func(token string) error {
		var err error
		ans, err = o.post(ctx, token, body, contentType)
		return err
	})
	if err != nil {
		return ocr.Result{}, classify(err)
	}
	res, err := resultOf(ans)
	if err != nil {
		return ocr.Result{}, &ocr.Error{Provider: OCRName, Kind: ocr.ErrProvider, Err: err}
	}
	if req.Side != ocr.SideAuto && req.Side != res.Side {
		res.Warnings = append(res.Warnings, "wrong_side")
	}
	return res, nil
}

// uploadForm builds the multipart body once, so the retry after a rejected
// token resends the same bytes without re-encoding.
func uploadForm(img []byte) ([]byte, string, error) {
	name, typ := "idcard.jpg", "image/jpeg"
	if http.DetectContentType(img) == "image/png" {
		name, typ = "idcard.png", "image/png"
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="img"; filename="`+name+`"`)
	h.Set("Content-Type", typ)
	part, err := mw.CreatePart(h)
	if err == nil {
		_, err = part.Write(img)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("build upload: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// post makes one call with token. Its errors never quote the URL, which
// carries the token, nor the body, which is the photo.
func (o *OCR) post(ctx context.Context, token string, body []byte, contentType string) (idcardAnswer, error) {
	data, err := apiPost{client: o.client, endpoint: o.endpoint, query: url.Values{"type": {"photo"}},
		contentType: contentType, body: body, what: "idcard", maxAnswer: ocrMaxAnswer}.do(ctx, token)
	if err != nil {
		return idcardAnswer{}, err
	}
	return decodeAnswer(data)
}

// idcardAnswer is cv/ocr/idcard's answer, the fields of the SDK's
// ocr.ResIDCard with errcode read by vendorcode: the SDK's int64 refuses
// the string "0" that a copy of WeChat's document shows, which turned a
// good reading into a failure and sent the photo to a paid vendor.
type idcardAnswer struct {
	ErrCode     vendorcode.Code `json:"errcode"` // absent or 0 on success
	ErrMsg      string          `json:"errmsg"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	ID          string          `json:"id"`
	Address     string          `json:"addr"`
	Gender      string          `json:"gender"`
	Nationality string          `json:"nationality"`
	ValidDate   string          `json:"valid_date"`
}

// decodeAnswer parses an HTTP 200 body: a non-zero errcode becomes an
// *APIError, whose ErrCode lets the token source spot a rejected token.
func decodeAnswer(data []byte) (idcardAnswer, error) {
	if len(data) > ocrMaxAnswer {
		return idcardAnswer{}, fmt.Errorf("idcard answer is over %d bytes", ocrMaxAnswer)
	}
	var ans idcardAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		// The JSON error quotes no input, only offsets and types.
		return idcardAnswer{}, fmt.Errorf("decode idcard answer: %w", err)
	}
	if ans.ErrCode != 0 {
		return ans, &APIError{API: "cv/ocr/idcard", Code: int(ans.ErrCode), Msg: ans.ErrMsg}
	}
	return ans, nil
}

// classify turns a failed call into the ocr error kinds. Only answers about
// the photo are definitive; a token still rejected after the retry, quota,
// system errors and transport failures let the chain try the next vendor.
func classify(err error) *ocr.Error {
	e := &ocr.Error{Provider: OCRName, Kind: ocr.ErrProvider, Err: err}
	var api *APIError
	if !errors.As(err, &api) {
		return e
	}
	e.Code = strconv.Itoa(api.Code)
	switch api.Code {
	case 101001: // certificate not found
		e.Kind = ocr.ErrNoCard
	case 101000, 101002: // image url / image cannot be decoded
		e.Kind = ocr.ErrBadImage
	}
	return e
}

// resultOf normalises a successful answer. WeChat's back side carries only
// the validity period, so Authority stays empty.
func resultOf(ans idcardAnswer) (ocr.Result, error) {
	res := ocr.Result{Provider: OCRName}
	f := &res.Fields
	switch strings.ToLower(strings.TrimSpace(ans.Type)) {
	case "front":
		f.Side = ocr.SideFront
	case "back":
		f.Side = ocr.SideBack
	default:
		// An answer without a side would leave the flow guessing what it
		// holds; treat it as this vendor failing rather than the photo.
		return ocr.Result{}, fmt.Errorf("idcard answer has type %q", ans.Type)
	}
	f.Name = strings.TrimSpace(ans.Name)
	f.Sex = strings.TrimSpace(ans.Gender)
	f.Ethnicity = strings.TrimSuffix(strings.TrimSpace(ans.Nationality), "族")
	f.Address = strings.TrimSpace(ans.Address)
	f.IDNumber = normaliseID(ans.ID)
	f.Birth = birthOf(f.IDNumber)
	f.ValidFrom, f.ValidTo, f.LongTerm = validity(ans.ValidDate)
	return res, nil
}

// normaliseID upper-cases the check digit X, which OCR may read as x or
// as a full-width character, so the number compares and hashes the same
// whichever way it was read.
func normaliseID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.NewReplacer("ｘ", "X", "Ｘ", "X", " ", "").Replace(id)
	return strings.ToUpper(id)
}

// birthOf reads the birth date out of an ID number: WeChat's answer has no
// birth field, but the number holds it (digits 7-14, or 7-12 after "19" in
// the 15-digit numbers of first-generation cards). It is empty when the
// digits are no date.
func birthOf(id string) string {
	var digits string
	switch len(id) {
	case 18:
		digits = id[6:14]
	case 15:
		digits = "19" + id[6:12]
	default:
		return ""
	}
	d, err := time.Parse("20060102", digits)
	if err != nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

// validity splits WeChat's "20160820-20360820" or "20120605-长期" into
// YYYY-MM-DD dates. Dots and spaces, as printed on the card, are ignored.
// A part that is no date comes back empty rather than guessed at.
func validity(s string) (from, to string, longTerm bool) {
	s = strings.NewReplacer(".", "", " ", "").Replace(s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return "", "", false
	}
	from = isoDate(a)
	if b == "长期" {
		return from, "", true
	}
	return from, isoDate(b), false
}

func isoDate(s string) string {
	d, err := time.Parse("20060102", s)
	if err != nil {
		return ""
	}
	return d.Format(time.DateOnly)
}
