package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"realname/testdata/idcard"
)

// AcedataUpstream is the upstream name the Acedata fake registers under,
// for fault injection ({"upstream":"acedata",…}).
const AcedataUpstream = "acedata"

// SandboxAcedataKey is the API key NewAcedata accepts when given none, and
// the one `realname serve --sandbox` configures.
const SandboxAcedataKey = "sandbox-acedata-key"

const (
	// acedataPrefix keeps the fake's path apart from the other vendors' on
	// the one sandbox listener: clients use sandbox URL + "/acedata" as
	// their API root.
	acedataPrefix = "/acedata"
	// acedataPath is Ace Data Cloud's path for the API; the document names
	// none (see service/acedata.Path).
	acedataPath = "/identity/idcard/ocr"
	// acedataMaxBody bounds a request: the document sets no image limit, and
	// 8 MB holds any photo worth reading as a base64 data URL.
	acedataMaxBody = 8 << 20
)

// The document's result codes and its words for them.
const (
	aceMatch      = "0"
	aceMismatch   = "-1"
	aceBadID      = "-2"
	aceBadName    = "-3"
	aceNoRecord   = "-5"
	aceDailyLimit = "-7"
)

// aceMaxNameRune is the longest name the fake takes as legal.
const aceMaxNameRune = 30

var aceDescriptions = map[string]string{
	"0":  "The name and ID card number are consistent",
	"-1": "The name and ID card number are inconsistent",
	"-2": "Illegal ID card number (length, check digit, etc. are incorrect)",
	"-3": "Illegal name (length, format, etc. are incorrect)",
	"-4": "Document database service exception",
	"-5": "No record of this ID card in the document database",
	"-6": "The authoritative comparison system is being upgraded, please try again later",
	"-7": "The number of authentications has exceeded the daily limit.",
}

// Acedata fakes the "ID Card Recognition and Information Verification" API
// of seed document 000: POST a JSON body with image_url (read the portrait
// side, then verify what was read) or with name and id_card alone (verify
// only), authorised by the authorization header. It answers from the
// sample cards: a card's own name and number match, except the "mismatch"
// card (-1) and the "no_record" card (-5); a valid number of no sample card
// has no record (-5). It is safe for concurrent use.
//
// Where the document is silent the fake chooses, and the clients read the
// same way:
//   - authorization is the bare key or "Bearer <key>"; anything else, or
//     none, is 401 invalid_token.
//   - Errors are {"error":{"code","message"},"trace_id"} with the
//     document's codes; 400 uses api_not_implemented (missing or invalid
//     parameters), and a 400 about the image says so in its message.
//   - result is a JSON string ("0", "-1", …).
//   - When name and id_card are both present they are verified and
//     image_url is ignored, as the verification mode promises no photo.
//   - image_url may be a data URL (data:image/…;base64,…) or an http(s)
//     URL the fake downloads with a 5 s timeout. A picture that is no
//     portrait side (no card, or a back side) is answered 200 with empty
//     fields and -2, the empty number being no legal number.
//   - Fault mode "error" is HTTP 500 api_error; "quota" is result -7, the
//     document's daily limit, with empty fields. The document's other
//     limit, 429 too_many_requests, is a rate limit, not a quota.
//   - The encryption parameter is refused (400): the fake cannot decrypt.
type Acedata struct {
	cards  *Cards
	key    string
	client *http.Client
	byID   map[string]idcard.Card
}

// NewAcedata returns a fake that accepts key (SandboxAcedataKey when empty)
// and answers from cards and the sample card facts.
func NewAcedata(cards *Cards, key string) *Acedata {
	if key == "" {
		key = SandboxAcedataKey
	}
	a := &Acedata{
		cards:  cards,
		key:    key,
		client: &http.Client{Timeout: 5 * time.Second},
		byID:   map[string]idcard.Card{},
	}
	// idcard.Cards only fails if the embedded JSON is broken, which
	// LoadCards (needed to build cards) would already have reported.
	all, _ := idcard.Cards()
	for _, c := range all {
		a.byID[strings.ToUpper(c.IDNumber)] = c
	}
	return a
}

// Mount registers the endpoint on s under upstream "acedata" at
// /acedata/identity/idcard/ocr.
func (a *Acedata) Mount(s *Server) {
	s.Register(AcedataUpstream, "POST "+acedataPrefix+acedataPath, http.HandlerFunc(a.serve), a.writeFailure)
}

// aceRequest is the body; pointers tell an absent field from an empty one.
type aceRequest struct {
	ImageURL   *string         `json:"image_url"`
	Name       *string         `json:"name"`
	IDCard     *string         `json:"id_card"`
	Encryption json.RawMessage `json:"encryption"`
}

// aceAnswer is the 200 body. The card fields are empty in verification
// mode, as the document says they are without an image.
type aceAnswer struct {
	Result      string `json:"result"`
	Description string `json:"description"`
	Name        string `json:"name"`
	IDCard      string `json:"id_card"`
	Sex         string `json:"sex"`
	Nation      string `json:"nation"`
	Birth       string `json:"birth"`
	Address     string `json:"address"`
}

func (a *Acedata) serve(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r.Header.Get("Authorization")) {
		aceError(w, http.StatusUnauthorized, "invalid_token", "Unauthorized, invalid or missing authorization token.")
		return
	}
	var req aceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, acedataMaxBody))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			aceError(w, http.StatusBadRequest, "api_not_implemented", "image_url: the image is too large")
			return
		}
		aceError(w, http.StatusBadRequest, "api_not_implemented", "the body must be a JSON object")
		return
	}
	if len(req.Encryption) > 0 && string(req.Encryption) != "null" {
		aceError(w, http.StatusBadRequest, "api_not_implemented", "encryption is not supported by the sandbox")
		return
	}
	switch {
	case req.Name != nil && req.IDCard != nil:
		code := a.verify(*req.Name, *req.IDCard)
		writeJSON(w, http.StatusOK, aceAnswer{Result: code, Description: aceDescriptions[code]})
	case req.ImageURL != nil && strings.TrimSpace(*req.ImageURL) != "":
		a.serveImage(w, r, strings.TrimSpace(*req.ImageURL))
	default:
		aceError(w, http.StatusBadRequest, "api_not_implemented", "name and id_card, or image_url, are required")
	}
}

// serveImage reads the portrait side of the picture at raw and verifies
// what it read.
func (a *Acedata) serveImage(w http.ResponseWriter, r *http.Request, raw string) {
	data, err := a.image(r, raw)
	if err != nil {
		aceError(w, http.StatusBadRequest, "api_not_implemented", "image_url: "+err.Error())
		return
	}
	card, side, err := a.cards.Recognize(data)
	switch {
	case errors.Is(err, ErrNotImage):
		aceError(w, http.StatusBadRequest, "api_not_implemented", "image_url: cannot decode the image")
		return
	case errors.Is(err, ErrImageTooLarge):
		aceError(w, http.StatusBadRequest, "api_not_implemented", "image_url: the image resolution is too large")
		return
	case err != nil || side != SideFront:
		writeJSON(w, http.StatusOK, aceAnswer{Result: aceBadID, Description: aceDescriptions[aceBadID]})
		return
	}
	code := a.verify(card.Name, card.IDNumber)
	writeJSON(w, http.StatusOK, aceAnswer{
		Result:      code,
		Description: aceDescriptions[code],
		Name:        card.Name,
		IDCard:      card.IDNumber,
		Sex:         card.Sex,
		Nation:      card.Ethnicity,
		Birth:       acePrintedDate(card.Birth),
		Address:     card.Address,
	})
}

// verify answers a name and number as the authoritative source would for
// the sample cards: the number is checked first, then the name.
func (a *Acedata) verify(name, number string) string {
	number = strings.ToUpper(strings.TrimSpace(number))
	if !aceValidID(number) {
		return aceBadID
	}
	if !aceValidName(strings.TrimSpace(name)) {
		return aceBadName
	}
	card, ok := a.byID[number]
	switch {
	case !ok || card.Check == "no_record":
		return aceNoRecord
	case card.Check == "mismatch" || card.Name != strings.TrimSpace(name):
		return aceMismatch
	}
	return aceMatch
}

// authorized accepts the key alone, as the document describes the header,
// or after a Bearer scheme, as the vendor's examples write it.
func (a *Acedata) authorized(h string) bool {
	h = strings.TrimSpace(h)
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		h = strings.TrimSpace(rest)
	}
	return h != "" && h == a.key
}

// image returns the bytes image_url points at: the payload of a base64
// data URL, or the download of an http(s) URL.
func (a *Acedata) image(r *http.Request, raw string) ([]byte, error) {
	if meta, payload, ok := strings.Cut(raw, ","); ok && strings.HasPrefix(strings.ToLower(meta), "data:") {
		meta = strings.ToLower(meta)
		if !strings.HasPrefix(meta, "data:image/") || !strings.HasSuffix(meta, ";base64") {
			return nil, errors.New("a data URL must be data:image/…;base64")
		}
		data, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, errors.New("invalid base64 in the data URL")
		}
		return data, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an http(s) or data URL")
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errors.New("cannot fetch the URL")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, errors.New("cannot download the image")
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("cannot download the image: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, acedataMaxBody+1))
	if err != nil {
		return nil, errors.New("cannot download the image")
	}
	if len(data) > acedataMaxBody {
		return nil, errors.New("the image is too large")
	}
	return data, nil
}

// writeFailure renders the fault modes: "error" is the document's 500,
// "quota" its daily limit result -7.
func (a *Acedata) writeFailure(w http.ResponseWriter, _ *http.Request, mode string) {
	if mode == ModeQuota {
		writeJSON(w, http.StatusOK, aceAnswer{Result: aceDailyLimit, Description: aceDescriptions[aceDailyLimit]})
		return
	}
	aceError(w, http.StatusInternalServerError, "api_error", "Internal server error, something went wrong on the server.")
}

// aceError writes the error shape: {"error":{"code","message"},"trace_id"}.
func aceError(w http.ResponseWriter, status int, code, message string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	writeJSON(w, status, map[string]any{
		"error":    map[string]string{"code": code, "message": message},
		"trace_id": hex.EncodeToString(b[:]),
	})
}

// aceValidID reports whether s is an 18-character resident ID number with
// a correct GB 11643 check digit (MOD 11-2).
func aceValidID(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * weights[i]
	}
	return s[17] == "10X98765432"[sum%11]
}

// aceValidName accepts 2 to 30 Chinese characters, with single middle dots
// between the parts of a transcribed minority name (艾力·吐尔逊).
func aceValidName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > aceMaxNameRune || strings.HasPrefix(s, "·") || strings.HasSuffix(s, "·") || strings.Contains(s, "··") {
		return false
	}
	for _, r := range s {
		if r != '·' && !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

// acePrintedDate renders YYYY-MM-DD as OCR services read the card's
// 出生 line: 1990/5/14, without leading zeros.
func acePrintedDate(iso string) string {
	d, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return d.Format("2006/1/2")
}
