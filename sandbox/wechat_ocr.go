package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"realname/testdata/idcard"
)

// ocrMaxBytes is WeChat's OCR size limit: the image must be under 2 MB.
const ocrMaxBytes = 2 << 20

// errImageTooBig marks an upload or download of ocrMaxBytes or more.
var errImageTooBig = errors.New("sandbox: image of 2 MB or more")

// ocrFront and ocrBack are the success bodies of cv/ocr/idcard.
type ocrFront struct {
	Errcode     int    `json:"errcode"`
	Errmsg      string `json:"errmsg"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	Gender      string `json:"gender"`
	Nationality string `json:"nationality"`
}

type ocrBack struct {
	Errcode   int    `json:"errcode"`
	Errmsg    string `json:"errmsg"`
	Type      string `json:"type"`
	ValidDate string `json:"valid_date"`
}

// serveIDCardOCR is POST /cv/ocr/idcard: the token is checked first, then
// the image (multipart field "img", else the img_url query parameter) is
// matched against the sample cards. The type=photo|scan parameter changes
// nothing here.
func (w *WeChat) serveIDCardOCR(rw http.ResponseWriter, r *http.Request) {
	if !w.tokenOK(rw, r) {
		return
	}
	data, werr := w.ocrImage(r)
	if werr != nil {
		writeWx(rw, werr)
		return
	}
	card, side, err := w.cards.Recognize(data)
	switch {
	case errors.Is(err, ErrNoCard):
		writeWx(rw, wxErr(101001))
	case err != nil: // not an image, or too many pixels to decode
		writeWx(rw, wxErr(101002))
	case side == SideFront:
		writeWx(rw, ocrFront{Errmsg: "ok", Type: "Front", Name: card.Name, ID: card.IDNumber,
			Addr: card.Address, Gender: card.Sex, Nationality: card.Ethnicity})
	default:
		writeWx(rw, ocrBack{Errmsg: "ok", Type: "Back", ValidDate: validDate(card)})
	}
}

// validDate renders a card's validity as WeChat does: "20160820-20360820",
// or "20120605-长期" for a card that never expires.
func validDate(c idcard.Card) string {
	return strings.ReplaceAll(c.ValidFrom, "-", "") + "-" + strings.ReplaceAll(c.ValidTo, "-", "")
}

// ocrImage reads the image to recognise: the uploaded "img" part when there
// is one, else the download of img_url.
func (w *WeChat) ocrImage(r *http.Request) ([]byte, *WeChatError) {
	data, found, err := uploadedImage(r)
	if !found {
		raw := r.URL.Query().Get("img_url")
		if raw == "" {
			return nil, wxErr(101000)
		}
		if data, err = w.download(r, raw); err != nil && !errors.Is(err, errImageTooBig) {
			return nil, wxErr(101000)
		}
	}
	if err != nil {
		return nil, wxErr(101002)
	}
	return data, nil
}

// uploadedImage streams a multipart body to its "img" part and reads it,
// stopping at the size limit so a huge upload costs no more than 2 MB.
// found is false for a body that is not multipart or has no such part.
func uploadedImage(r *http.Request) (data []byte, found bool, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false, nil
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, false, nil // end of the form, or a broken one: no image
		}
		if part.FormName() == "img" {
			data, err := readLimited(part)
			return data, true, err
		}
	}
}

// download fetches img_url like WeChat's backend would: http or https only,
// with the client's timeout and the request's own deadline.
func (w *WeChat) download(r *http.Request, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox: img_url %q is not an http(s) URL", raw)
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("sandbox: img_url answered %s", resp.Status)
	}
	return readLimited(resp.Body)
}

// readLimited reads at most ocrMaxBytes: reaching the limit already means
// the image is too big, so nothing past it is worth reading.
func readLimited(rd io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, ocrMaxBytes))
	if err != nil {
		return nil, err
	}
	if len(data) >= ocrMaxBytes {
		return nil, errImageTooBig
	}
	return data, nil
}

// tokenOK checks the access_token query parameter of an API call and
// answers WeChat's error when it is missing (41001) or not current.
func (w *WeChat) tokenOK(rw http.ResponseWriter, r *http.Request) bool {
	_, ok := w.tokenApp(rw, r)
	return ok
}
