package ocr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"realname/sandbox"
	"realname/testdata/idcard"
)

const apistoreCalls = "apistore " + sandbox.ApistoreEndpoint

// apistoreSandbox starts a sandbox with the API-store fake and returns it
// with the endpoint URL a client should use.
func apistoreSandbox(t *testing.T) (*sandbox.Server, string) {
	t.Helper()
	cards, err := vendorCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	sandbox.NewApistore(cards, sandbox.SandboxApistoreAppID, sandbox.SandboxApistoreSecret).Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vendorClose(srv) })
	return srv, srv.URL() + sandbox.ApistoreEndpoint
}

func apistoreClient(endpoint string, timeout time.Duration) *Apistore {
	return NewApistore(endpoint, sandbox.SandboxApistoreAppID, sandbox.SandboxApistoreSecret, &http.Client{Timeout: timeout})
}

// TestApistoreSignWorkedExample checks the sign against MD5s worked out
// by hand (md5sum of the concatenated string) from the document's rule:
// its own example "appid1formatjsontime1545829466" + the 32-character
// secret, where id_card_side and url_image are empty and so left out.
func TestApistoreSignWorkedExample(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	doc := url.Values{"appid": {"1"}, "format": {"json"}, "id_card_side": {""}, "time": {"1545829466"}, "url_image": {""}}
	// md5("appid1formatjsontime15458294660123456789abcdef0123456789abcdef")
	if got, want := ApistoreSign(doc, secret), "cf118de175af65583ab72c993a3074d3"; got != want {
		t.Errorf("document example: sign %s, want %s", got, want)
	}
	doc.Set("sign", "ignored: sign is not signed")
	if got := ApistoreSign(doc, secret); got != "cf118de175af65583ab72c993a3074d3" {
		t.Errorf("a sign parameter changed the sign to %s", got)
	}
	// Keys out of order, every value set, a base64 value with + / =:
	// md5("appid100001formatjsonid_card_sidefronttime1545829466url_imageaGk/+w==" + secret)
	full := url.Values{"url_image": {"aGk/+w=="}, "time": {"1545829466"}, "id_card_side": {"front"}, "format": {"json"}, "appid": {"100001"}}
	if got, want := ApistoreSign(full, secret), "6931dd6a077560e3fcdf2e52633de7a8"; got != want {
		t.Errorf("all parameters: sign %s, want %s", got, want)
	}
}

func TestApistoreReadsEverySample(t *testing.T) {
	_, endpoint := apistoreSandbox(t)
	p := apistoreClient(endpoint, 10*time.Second)
	if p.Name() != "apistore" {
		t.Errorf("Name = %q", p.Name())
	}
	longTerm := false
	for i, c := range vendorSamples(t) {
		for _, f := range []struct {
			name string
			side Side
		}{{c.Front, SideFront}, {c.Back, SideBack}} {
			asked := f.side // every other card leaves the side to the vendor
			if i%2 == 1 {
				asked = SideAuto
			}
			res, err := p.Recognize(context.Background(), Request{Image: vendorImage(t, f.name), Side: asked})
			if err != nil {
				t.Errorf("%s asked %q: %v", f.name, asked, err)
				continue
			}
			vendorCheckCard(t, f.name, res.Fields, c, f.side)
			if res.Provider != ApistoreName || len(res.Warnings) != 0 {
				t.Errorf("%s: provider %q warnings %v", f.name, res.Provider, res.Warnings)
			}
			longTerm = longTerm || res.LongTerm
		}
	}
	if !longTerm {
		t.Error("no sample came back LongTerm; the 长期 path went untested")
	}
}

func TestApistoreReversedSide(t *testing.T) {
	_, endpoint := apistoreSandbox(t)
	p := apistoreClient(endpoint, 10*time.Second)
	c := vendorSamples(t)[0]
	res, err := p.Recognize(context.Background(), Request{Image: vendorImage(t, c.Front), Side: SideBack})
	if err != nil {
		t.Fatal(err)
	}
	vendorCheckCard(t, "front asked as back", res.Fields, c, SideFront)
	if !slices.Equal(res.Warnings, []string{WarnWrongSide}) {
		t.Errorf("warnings %v, want [wrong_side]", res.Warnings)
	}
}

func TestApistoreDefinitiveAnswers(t *testing.T) {
	srv, endpoint := apistoreSandbox(t)
	p := apistoreClient(endpoint, 10*time.Second)
	_, err := p.Recognize(context.Background(), Request{Image: idcard.NotACard()})
	vendorWantErr(t, "not a card", err, ApistoreName, ErrNoCard, "non_idcard")

	// Images the vendor would refuse never reach it.
	tiny := apistorePNG(t, image.NewGray(image.Rect(0, 0, 300, 10)))
	for what, img := range map[string][]byte{"not an image": []byte("BM garbage"), "10 px high": tiny} {
		_, err := p.Recognize(context.Background(), Request{Image: img})
		vendorWantErr(t, what, err, ApistoreName, ErrBadImage, "")
	}
	if n := srv.Calls()[apistoreCalls]; n != 1 {
		t.Errorf("%d calls, want only the not-a-card one", n)
	}
}

// TestApistoreShrinksToPixelLimit sends an image past the 4096 px limit
// of the fake, which refuses such images with 10019: the client fits it, so
// the fake gets to look at it (and finds no card on a grey strip).
func TestApistoreShrinksToPixelLimit(t *testing.T) {
	_, endpoint := apistoreSandbox(t)
	strip := image.NewGray(image.Rect(0, 0, 4500, 100))
	for i := range strip.Pix {
		strip.Pix[i] = 0x80
	}
	_, err := apistoreClient(endpoint, 10*time.Second).Recognize(context.Background(), Request{Image: apistorePNG(t, strip)})
	vendorWantErr(t, "4500 px strip", err, ApistoreName, ErrNoCard, "non_idcard")
}

// TestApistoreImageEncodedLimit checks the 4M limit is met as the document
// counts it: base64, then URL-encoded.
func TestApistoreImageEncodedLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewRGBA(image.Rect(0, 0, 1100, 1100)) // noise: about 3.6 MB as PNG
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256)) | 0x01
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	enc, err := apistoreImage(apistorePNG(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(url.QueryEscape(enc)); n > 4_000_000 {
		t.Errorf("url-encoded base64 is %d bytes, over 4M", n)
	}
	if _, err := base64.StdEncoding.DecodeString(enc); err != nil {
		t.Errorf("not base64: %v", err)
	}
}

func TestApistoreProviderFailures(t *testing.T) {
	srv, endpoint := apistoreSandbox(t)
	req := Request{Image: vendorImage(t, vendorSamples(t)[0].Front)}
	ctx := context.Background()

	wrongSecret := NewApistore(endpoint, sandbox.SandboxApistoreAppID, "wrong-secret-wrong-secret-wrong-", nil)
	_, err := wrongSecret.Recognize(ctx, req)
	vendorWantErr(t, "wrong secret", err, ApistoreName, ErrProvider, "10003", "wrong-secret", sandbox.SandboxApistoreSecret)
	wrongApp := NewApistore(endpoint, "999999", sandbox.SandboxApistoreSecret, nil)
	_, err = wrongApp.Recognize(ctx, req)
	vendorWantErr(t, "wrong appid", err, ApistoreName, ErrProvider, "10005", sandbox.SandboxApistoreSecret)
	noApp := NewApistore(endpoint, "", sandbox.SandboxApistoreSecret, nil)
	_, err = noApp.Recognize(ctx, req)
	vendorWantErr(t, "no appid", err, ApistoreName, ErrProvider, "10001", sandbox.SandboxApistoreSecret)
	skewed := apistoreClient(endpoint, 5*time.Second)
	skewed.now = func() time.Time { return time.Now().Add(-11 * time.Minute) }
	_, err = skewed.Recognize(ctx, req)
	vendorWantErr(t, "clock 11 minutes slow", err, ApistoreName, ErrProvider, "10004")

	p := apistoreClient(endpoint, 300*time.Millisecond)
	for _, tc := range []struct{ mode, code string }{
		{sandbox.ModeError, "10021"},
		{sandbox.ModeQuota, "10018"},
		{sandbox.ModeTimeout, ""},
	} {
		if err := srv.SetFault(sandbox.Fault{Upstream: sandbox.ApistoreUpstream, Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		_, err := p.Recognize(ctx, req)
		vendorWantErr(t, tc.mode, err, ApistoreName, ErrProvider, tc.code, sandbox.SandboxApistoreSecret)
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.ApistoreUpstream, Mode: sandbox.ModeOK})
	// A generous timeout: the fake reads the photo, which under -race on
	// a busy machine has taken longer than the 300 ms above.
	if _, err := apistoreClient(endpoint, 10*time.Second).Recognize(ctx, req); err != nil {
		t.Errorf("after the faults: %v", err)
	}

	// A gateway's error page is a provider failure with its HTTP status.
	gw := &http.Client{Transport: apistoreStatusTransport(http.StatusBadGateway)}
	_, err = NewApistore(endpoint, "1", "s", gw).Recognize(ctx, req)
	vendorWantErr(t, "HTTP 502", err, ApistoreName, ErrProvider, "http_502")
}

// TestApistoreAnswers runs documented answer variants through the
// classification, without HTTP.
func TestApistoreAnswers(t *testing.T) {
	front := `{"姓名":"李义","性别":"男","民族":"汉","出生":"19940406","住址":"江西省抚州市广昌县","公民身份号码":"36253219940406412x"}`
	back := `{"签发机关":"广昌县公安局","签发日期":"20170313","失效日期":"20370313"}`
	for _, tc := range []struct {
		name, answer string
		asked        Side
		side         Side
		warnings     []string
		kind         error
		code         string
	}{
		{name: "front", answer: `{"codeid":10000,"image_status":"normal","idcard_number_type":1,"retdata":` + front + `}`,
			side: SideFront},
		{name: "codes as strings, status in retdata", answer: `{"codeid":"10000","retdata":{"image_status":"blurred","idcard_number_type":"3","姓名":"李义"}}`,
			side: SideFront, warnings: []string{WarnBlurred, WarnIDBirth}},
		{name: "glare, sex and birth mismatch", answer: `{"codeid":10000,"image_status":"over_exposure","idcard_number_type":2,"retdata":` + front + `}`,
			side: SideFront, warnings: []string{WarnGlare, WarnIDBirth, WarnIDSex}},
		{name: "dark, sex mismatch", answer: `{"codeid":10000,"image_status":"over_dark","idcard_number_type":4,"retdata":` + front + `}`,
			side: SideFront, warnings: []string{WarnDark, WarnIDSex}},
		{name: "invalid number withheld", answer: `{"codeid":10000,"image_status":"normal","idcard_number_type":0,"retdata":{"姓名":"李义","住址":"江西"}}`,
			side: SideFront, warnings: []string{WarnIDInvalid}},
		{name: "unknown status", answer: `{"codeid":10000,"image_status":"unknown","retdata":` + back + `}`,
			side: SideBack, warnings: []string{WarnUnknownStatus}},
		{name: "back asked as front, reversed", answer: `{"codeid":10000,"image_status":"reversed_side","retdata":` + back + `}`,
			asked: SideFront, side: SideBack, warnings: []string{WarnWrongSide}},
		{name: "back asked as front, status normal", answer: `{"codeid":10000,"image_status":"normal","retdata":` + back + `}`,
			asked: SideFront, side: SideBack, warnings: []string{WarnWrongSide}},
		{name: "non_idcard", answer: `{"codeid":10000,"image_status":"non_idcard","idcard_number_type":-1,"retdata":[]}`,
			kind: ErrNoCard, code: "non_idcard"},
		{name: "other type of card", answer: `{"codeid":10000,"image_status":"other_type_card","retdata":""}`,
			kind: ErrNoCard, code: "other_type_card"},
		{name: "blurred, nothing read", answer: `{"codeid":10000,"image_status":"blurred","idcard_number_type":-1,"retdata":{}}`,
			kind: ErrBadImage, code: "blurred"},
		{name: "normal, nothing read", answer: `{"codeid":10000,"image_status":"normal","retdata":{"姓名":""}}`,
			kind: ErrProvider, code: "10000"},
		{name: "retdata a number", answer: `{"codeid":10000,"retdata":5}`, kind: ErrProvider, code: "10000"},
	} {
		var ans apistoreAnswer
		if err := json.Unmarshal([]byte(tc.answer), &ans); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		res, err := apistoreResult(ans, tc.asked)
		if tc.kind != nil {
			vendorWantErr(t, tc.name, err, ApistoreName, tc.kind, tc.code)
			continue
		}
		if err != nil || res.Side != tc.side || !slices.Equal(res.Warnings, tc.warnings) {
			t.Errorf("%s: got side %q warnings %v err %v; want %q %v", tc.name, res.Side, res.Warnings, err, tc.side, tc.warnings)
		}
	}
	var ans apistoreAnswer
	_ = json.Unmarshal([]byte(`{"codeid":10000,"retdata":`+front+`}`), &ans)
	res, _ := apistoreResult(ans, SideAuto)
	want := Fields{Side: SideFront, Name: "李义", Sex: "男", Ethnicity: "汉", Birth: "1994-04-06",
		Address: "江西省抚州市广昌县", IDNumber: "36253219940406412X"}
	if res.Fields != want {
		t.Errorf("document example:\n got %+v\nwant %+v", res.Fields, want)
	}
}

func apistorePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// apistoreStatusTransport answers every request with status and an HTML body.
type apistoreStatusTransport int

func (s apistoreStatusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: int(s), Header: http.Header{}, Request: r,
		Body: io.NopCloser(bytes.NewReader([]byte("<html>bad gateway</html>")))}, nil
}
