package idcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"realname/service/acedata"
	"realname/service/vendorcode"
)

// AcedataName is the provider name of Acedata in config, metrics and
// attempt records.
const AcedataName = acedata.Name

// Acedata checks a name and ID number with the document's "custom
// information verification" mode: a JSON body of name and id_card alone,
// no image. It implements Provider and is safe for concurrent use.
//
// Readings of the document, which leaves these open (the transport's are
// in package acedata):
//   - result is read whether it arrives as a JSON string ("-1") or number.
//   - HTTP errors carry {"error":{"code","message"}}; only code is kept,
//     because a message may quote the request.
type Acedata struct {
	c *acedata.Client
}

// NewAcedata builds the provider. baseURL is the API root
// (acedata.DefaultBase when empty; sandbox URL + "/acedata" in tests);
// client nil means one with a 10 s timeout. The chain's per-provider
// deadline arrives through the context, so the client timeout is only a
// backstop.
func NewAcedata(baseURL, key string, client *http.Client) (*Acedata, error) {
	c, err := acedata.New(baseURL, key, client)
	if err != nil {
		return nil, fmt.Errorf("idcheck: %w", err)
	}
	return &Acedata{c: c}, nil
}

// Name returns "acedata".
func (a *Acedata) Name() string { return AcedataName }

// acedataRequest is the verification-only body: no image_url, so the
// vendor compares the two fields and sees no photo.
type acedataRequest struct {
	Name   string `json:"name"`
	IDCard string `json:"id_card"`
}

// Check sends name and idNumber (trimmed; a lower-case check digit x is
// upper-cased) and maps the vendor's result code. Input the vendor calls
// malformed comes back as InvalidID or InvalidName, not as an error.
func (a *Acedata) Check(ctx context.Context, name, idNumber string) (Result, error) {
	var ans struct {
		Result *vendorcode.Code `json:"result"`
	}
	err := a.c.Post(ctx, acedataRequest{Name: strings.TrimSpace(name), IDCard: acedataID(idNumber)}, &ans)
	var he *acedata.HTTPError
	switch {
	case errors.As(err, &he):
		return Result{}, a.fail(ErrUnavailable, he.Code, he)
	case err != nil:
		return Result{}, a.fail(ErrUnavailable, "", err)
	}
	if ans.Result == nil {
		return Result{}, a.fail(ErrUnavailable, "", errors.New("answer has no result code"))
	}
	return a.resultOf(ans.Result.String())
}

// AcedataVerdict is the outcome of an Acedata result code that is a
// verdict (0, -1, -2, -3, -5), e.g. one its recognition answer carried.
func AcedataVerdict(code string) (Result, bool) {
	res, err := (&Acedata{}).resultOf(code)
	return res, err == nil
}

// resultOf maps the document's result codes. Only 0 and -1 are charged.
// Codes the document does not list are no answer: treating them as any
// outcome would be a guess.
func (a *Acedata) resultOf(code string) (Result, error) {
	res := Result{Provider: AcedataName, Code: code}
	switch code {
	case "0":
		res.Outcome, res.Charged = Match, true
	case "-1":
		res.Outcome, res.Charged = Mismatch, true
	case "-2":
		res.Outcome = InvalidID
	case "-3":
		res.Outcome = InvalidName
	case "-5":
		res.Outcome = NoRecord
	case "-4":
		return Result{}, a.fail(ErrUnavailable, code, errors.New("document database service exception"))
	case "-6":
		return Result{}, a.fail(ErrUnavailable, code, errors.New("authoritative comparison system is being upgraded"))
	case "-7":
		return Result{}, a.fail(ErrLimit, code, errors.New("number of authentications exceeded the daily limit"))
	default:
		return Result{}, a.fail(ErrUnavailable, code, errors.New("result code not in the document"))
	}
	return res, nil
}

func (a *Acedata) fail(kind error, code string, err error) *Error {
	return &Error{Provider: AcedataName, Kind: kind, Code: code, Err: err}
}

// acedataID trims the number and upper-cases its check digit, so "x" and
// "X" are one number to the vendor.
func acedataID(id string) string {
	return strings.ToUpper(strings.TrimSpace(id))
}
