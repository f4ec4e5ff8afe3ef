package ocr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"realname/service/acedata"
	"realname/service/vendorcode"
)

// AcedataName is the provider name of Acedata in config, metrics and
// attempt records.
const AcedataName = acedata.Name

const (
	// acedataMaxBytes bounds the photo before base64. The document states
	// no limit; under 2,000,000 bytes the data URL stays under 3 MB, the
	// limit ID-card backends commonly put on a base64 image.
	acedataMaxBytes = 2_000_000
	// acedataMaxSide is no documented limit either: a card needs far fewer
	// pixels to be read, and huge dimensions are refused by some backends
	// even when the bytes fit.
	acedataMaxSide = 4096
)

// Acedata reads the portrait side of an ID card with the document's basic
// mode: image_url in, name, id_card, sex, nation, birth and address out,
// plus the name/ID verification result the vendor runs on what it read. It
// implements Provider and is safe for concurrent use.
//
// The photo travels as a data URL (data:image/jpeg;base64,…) in image_url.
// The document asks for "the link to the ID card image" and does not rule
// data URLs out. The alternative, a short-lived signed URL of ours, would
// need public ingress to this service and would leave the ID photo
// reachable by anyone holding the link until it expires; a data URL needs
// neither, and nothing of the photo stays reachable after the call.
//
// Readings of the document, which leaves these open (the transport's are
// in package acedata):
//   - The API reads the portrait side only (its fields are the portrait
//     side's), so a request for the back side fails as a provider error
//     without a call, and the chain moves on to a vendor that reads backs.
//   - The document says the fields are empty when no card image was
//     uploaded. An answer with neither name nor id_card is read as "no
//     card in the photo" (ErrNoCard) when the caller said the photo is the
//     front. With SideAuto it is not definitive: the photo may be a back
//     side, which this vendor cannot read, so it is a provider error. With
//     result -4, -6 or -7 (source down, upgrading, daily limit) empty
//     fields say nothing about the photo either: provider error.
//   - HTTP 400 is the photo's fault (ErrBadImage) when the error message
//     is about an image that cannot be decoded, fetched or is too large;
//     any other 400, 401 (key), 429 (rate limit) and 5xx are provider
//     errors. The body's error.code is kept as Code, the message is not,
//     because it may echo the request.
//   - result and birth are read in any common form ("-1" or -1;
//     1990/5/14, 1990-05-14, 19900514, 1990年5月14日); a birth that cannot
//     be read is taken from the ID number.
//
// Every call in image mode is a verification too, billed when its result
// is 0 or -1; put this vendor after the cheaper readers in the chain.
type Acedata struct {
	c *acedata.Client
}

// NewAcedata builds the provider. baseURL is the API root
// (acedata.DefaultBase when empty; sandbox URL + "/acedata" in tests);
// client nil means one with a 10 s timeout. The chain's per-vendor
// deadline arrives through the context, so the client timeout is only a
// backstop.
func NewAcedata(baseURL, key string, client *http.Client) (*Acedata, error) {
	c, err := acedata.New(baseURL, key, client)
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	return &Acedata{c: c}, nil
}

// Name returns "acedata".
func (a *Acedata) Name() string { return AcedataName }

// acedataAnswer is the HTTP 200 body; fields the document lists but we do
// not use are left out.
type acedataAnswer struct {
	Result  *vendorcode.Code `json:"result"`
	Name    string           `json:"name"`
	IDCard  string           `json:"id_card"`
	Sex     string           `json:"sex"`
	Nation  string           `json:"nation"`
	Birth   string           `json:"birth"`
	Address string           `json:"address"`
}

// Recognize sends req.Image, shrunk below the limits when needed, as a
// data URL and normalises the answer. Every failure is an *Error carrying
// the vendor's result code or error.code.
func (a *Acedata) Recognize(ctx context.Context, req Request) (Result, error) {
	if req.Side == SideBack {
		return Result{}, a.fail(ErrProvider, "", errors.New("reads only the portrait side"))
	}
	img, err := Fit(req.Image, acedataMaxBytes, acedataMaxSide)
	if err != nil {
		return Result{}, a.fail(ErrBadImage, "", err)
	}
	ans, err := a.post(ctx, img)
	if err != nil {
		return Result{}, err
	}
	if ans.Result == nil {
		return Result{}, a.fail(ErrProvider, "", errors.New("answer has no result code"))
	}
	code := ans.Result.String()
	f := Fields{
		Side:      SideFront,
		Name:      strings.TrimSpace(ans.Name),
		Sex:       strings.TrimSpace(ans.Sex),
		Ethnicity: strings.TrimSuffix(strings.TrimSpace(ans.Nation), "族"),
		Address:   strings.TrimSpace(ans.Address),
		IDNumber:  acedataNormaliseID(ans.IDCard),
	}
	if f.Name == "" && f.IDNumber == "" {
		switch {
		case code == "-4" || code == "-6" || code == "-7":
			return Result{}, a.fail(ErrProvider, code, errors.New("no fields: verification source unavailable or limit reached"))
		case req.Side == SideFront:
			return Result{}, a.fail(ErrNoCard, code, nil)
		default:
			return Result{}, a.fail(ErrProvider, code, errors.New("no portrait side found; a back side cannot be read here"))
		}
	}
	f.Birth = acedataDate(ans.Birth)
	if f.Birth == "" {
		f.Birth = acedataBirthOf(f.IDNumber)
	}
	res := Result{Fields: f, Provider: AcedataName}
	switch code { // the verdicts; source errors (-4, -6, -7) are none
	case "0", "-1", "-2", "-3", "-5":
		res.Verdict = code
	}
	return res, nil
}

// post makes the call. Its errors never quote the body, which is the photo.
func (a *Acedata) post(ctx context.Context, img []byte) (acedataAnswer, error) {
	typ := "image/jpeg"
	if http.DetectContentType(img) == "image/png" {
		typ = "image/png" // Fit hands back a fitting PNG unchanged
	}
	body := map[string]string{
		"image_url": "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(img),
	}
	var ans acedataAnswer
	err := a.c.Post(ctx, body, &ans)
	var he *acedata.HTTPError
	switch {
	case errors.As(err, &he):
		return acedataAnswer{}, acedataHTTPError(he)
	case err != nil:
		return acedataAnswer{}, a.fail(ErrProvider, "", err)
	}
	return ans, nil
}

func (a *Acedata) fail(kind error, code string, err error) *Error {
	return &Error{Provider: AcedataName, Kind: kind, Code: code, Err: err}
}

// acedataImageWords are what a 400 message says when the photo, rather than
// the rest of the request, is at fault. The document gives 400 only
// "missing or invalid parameters", so the message is all there is to go by;
// a message merely naming image_url (as "name and id_card, or image_url,
// are required" does) is not enough.
var acedataImageWords = []string{"decode", "download", "fetch", "format", "too large", "too big", "size", "corrupt", "unreadable", "cannot be read", "pixel", "resolution"}

// acedataHTTPError classifies a non-200 answer: a 400 whose message is
// about the image is the photo's fault, everything else the vendor's.
func acedataHTTPError(he *acedata.HTTPError) *Error {
	e := &Error{Provider: AcedataName, Kind: ErrProvider, Code: he.Code, Err: he}
	if he.Status == http.StatusBadRequest {
		msg := strings.ToLower(he.Message)
		if strings.Contains(msg, "image") {
			for _, w := range acedataImageWords {
				if strings.Contains(msg, w) {
					e.Kind, e.Err = ErrBadImage, errors.New("HTTP 400: the image was refused")
					break
				}
			}
		}
	}
	return e
}

// acedataNormaliseID removes spaces and upper-cases the check digit X,
// which OCR may read as x or as a full-width character.
func acedataNormaliseID(id string) string {
	id = strings.NewReplacer("ｘ", "X", "Ｘ", "X", " ", "").Replace(strings.TrimSpace(id))
	return strings.ToUpper(id)
}

// acedataDate reads a printed date in the forms OCR services use and
// returns it as YYYY-MM-DD, or "" when it is no date.
func acedataDate(s string) string {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-", " ", "").Replace(s)
	for _, layout := range []string{"2006-1-2", "20060102"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.Format(time.DateOnly)
		}
	}
	return ""
}

// acedataBirthOf reads the birth date out of an 18-digit ID number (digits
// 7-14), or "" when they are no date.
func acedataBirthOf(id string) string {
	if len(id) != 18 {
		return ""
	}
	d, err := time.Parse("20060102", id[6:14])
	if err != nil {
		return ""
	}
	return d.Format(time.DateOnly)
}
