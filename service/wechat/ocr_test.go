package wechat

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/image/draw"

	"realname/sandbox"
	"realname/service/ocr"
	"realname/service/redisconn/redistest"
	"realname/service/token"
	"realname/testdata/idcard"
)

const ocrAppID, ocrSecret = "wxocrtest0000000001", "ocr-test-secret"

const ocrCalls = "wechat POST /cv/ocr/idcard"

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// sandboxCards hashes the sample cards once per test binary; Cards is
// immutable, so every fake may share it.
var sandboxCards = sync.OnceValues(sandbox.LoadCards)

// ocrEnv is one WeChat fake with the real token service in front of it.
type ocrEnv struct {
	srv    *sandbox.Server
	wx     *sandbox.WeChat
	svc    *token.Service
	tokens *recordingDoer
}

func newOCREnv(t *testing.T) *ocrEnv {
	t.Helper()
	return newWeChatEnv(t, sandbox.WeChatOptions{})
}

// newWeChatEnv is newOCREnv with the fake's options; Apps is always the
// one test app.
func newWeChatEnv(t *testing.T, opts sandbox.WeChatOptions) *ocrEnv {
	t.Helper()
	cards, err := sandboxCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(quietLog)
	opts.Apps = map[string]string{ocrAppID: ocrSecret}
	wx := sandbox.NewWeChat(cards, opts)
	wx.Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A request held by the timeout fault outlives the client: the fake
		// leaves the upload unread, and net/http notices a closed
		// connection only once the body is consumed. Graceful shutdown
		// would wait out the fake's 2 minutes; after a second, Close cuts
		// the connections instead.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	conn := redistest.Open(t)
	svc := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Prefix, Apps: []token.App{{AppID: ocrAppID, Secret: ocrSecret}}, Fetch: token.NewWeChatFetcher(srv.URL(), token.ModeStable),
		Log: quietLog, Registry: prometheus.NewRegistry()})
	return &ocrEnv{srv: srv, wx: wx, svc: svc, tokens: &recordingDoer{inner: svc}}
}

// provider builds the OCR under test; client nil takes the default.
func (e *ocrEnv) provider(t *testing.T, client *http.Client) *OCR {
	t.Helper()
	o, err := NewOCR(e.srv.URL(), client, ocrAppID, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// warm gets a token into the cache, so faults set afterwards hit only the
// OCR endpoint (the fake's faults cover every WeChat endpoint).
func (e *ocrEnv) warm(t *testing.T) {
	t.Helper()
	if _, err := e.svc.Token(context.Background(), ocrAppID); err != nil {
		t.Fatal(err)
	}
}

// recordingDoer passes calls to the token service and remembers every token
// handed out, so tests can check none leaks into an error.
type recordingDoer struct {
	inner TokenDoer
	mu    sync.Mutex
	seen  []string
}

func (r *recordingDoer) Do(ctx context.Context, appID string, fn func(string) error) error {
	return r.inner.Do(ctx, appID, func(tok string) error {
		r.mu.Lock()
		r.seen = append(r.seen, tok)
		r.mu.Unlock()
		return fn(tok)
	})
}

func (r *recordingDoer) used() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// checkNoToken fails when err's text quotes any token handed out.
func (r *recordingDoer) checkNoToken(t *testing.T, err error) {
	t.Helper()
	for _, tok := range r.used() {
		if strings.Contains(err.Error(), tok) {
			t.Fatalf("error quotes the access_token: %v", err)
		}
	}
}

// stubDoer hands fn a fixed token, as a token source would after its one
// retry, to see what Recognize makes of a token WeChat keeps refusing.
type stubDoer string

func (s stubDoer) Do(_ context.Context, _ string, fn func(string) error) error { return fn(string(s)) }

func sample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := idcard.Image(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantKind(t *testing.T, err error, kind error, code string) *ocr.Error {
	t.Helper()
	var oe *ocr.Error
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v (%T), want *ocr.Error", err, err)
	}
	if !errors.Is(err, kind) || oe.Provider != "wechat" {
		t.Fatalf("err = %v, want kind %v from wechat", err, kind)
	}
	if code != "*" && oe.Code != code {
		t.Fatalf("code = %q, want %q (err %v)", oe.Code, code, err)
	}
	if definitive := kind != ocr.ErrProvider; ocr.Definitive(err) != definitive {
		t.Fatalf("Definitive = %v, want %v", !definitive, definitive)
	}
	return oe
}

func TestOCRReadsEverySampleCard(t *testing.T) {
	env := newOCREnv(t)
	o := env.provider(t, nil)
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range cards {
		t.Run(c.Key, func(t *testing.T) {
			front := ocr.Fields{Side: ocr.SideFront, Name: c.Name, Sex: c.Sex, Ethnicity: c.Ethnicity,
				Birth: c.Birth, Address: c.Address, IDNumber: c.IDNumber}
			back := ocr.Fields{Side: ocr.SideBack, ValidFrom: c.ValidFrom, ValidTo: c.ValidTo}
			if c.ValidTo == "长期" {
				back.ValidTo, back.LongTerm = "", true
			}
			for _, tc := range []struct {
				file string
				side ocr.Side
				want ocr.Fields
			}{
				{c.Front, ocr.SideFront, front}, {c.Front, ocr.SideAuto, front},
				{c.Back, ocr.SideBack, back}, {c.Back, ocr.SideAuto, back},
			} {
				res, err := o.Recognize(ctx, ocr.Request{Image: sample(t, tc.file), Side: tc.side})
				if err != nil {
					t.Fatalf("%s (side %q): %v", tc.file, tc.side, err)
				}
				if res.Fields != tc.want || res.Provider != "wechat" || len(res.Warnings) != 0 {
					t.Fatalf("%s (side %q):\n got %+v\nwant %+v", tc.file, tc.side, res, tc.want)
				}
			}
		})
	}
}

func TestOCRWarnsAboutWrongSide(t *testing.T) {
	env := newOCREnv(t)
	res, err := env.provider(t, nil).Recognize(context.Background(),
		ocr.Request{Image: sample(t, "male_front.png"), Side: ocr.SideBack})
	if err != nil {
		t.Fatal(err)
	}
	if res.Side != ocr.SideFront || !reflect.DeepEqual(res.Warnings, []string{"wrong_side"}) {
		t.Fatalf("side %q, warnings %v; want front, [wrong_side]", res.Side, res.Warnings)
	}
}

func TestOCRNotACard(t *testing.T) {
	env := newOCREnv(t)
	_, err := env.provider(t, nil).Recognize(context.Background(), ocr.Request{Image: idcard.NotACard()})
	wantKind(t, err, ocr.ErrNoCard, "101001")
	env.tokens.checkNoToken(t, err)
}

func TestOCRUndecodableImageNeverUploaded(t *testing.T) {
	env := newOCREnv(t)
	_, err := env.provider(t, nil).Recognize(context.Background(), ocr.Request{Image: []byte("not an image")})
	wantKind(t, err, ocr.ErrBadImage, "")
	if n := env.srv.Calls()[ocrCalls]; n != 0 {
		t.Fatalf("%d OCR calls for an image that does not decode", n)
	}
}

// bigCard is a sample card scaled up and covered in noise, saved as PNG:
// over 2 MB like an unprocessed phone photo.
func bigCard(t *testing.T, name string) []byte {
	t.Helper()
	src, err := png.Decode(bytes.NewReader(sample(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 1712, 1080))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	for i, v := range dst.Pix {
		if i%4 != 3 {
			dst.Pix[i] = uint8(min(max(int(v)+int(rng.IntN(81))-40, 0), 255))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOCRShrinksLargeImage(t *testing.T) {
	env := newOCREnv(t)
	o := env.provider(t, nil)
	big := bigCard(t, "male_front.png")
	if len(big) < 2<<20 {
		t.Fatalf("test image is only %d bytes", len(big))
	}
	// Unshrunk, the fake refuses it as WeChat would: so a success below
	// proves the upload was made to fit.
	body, ctype, err := uploadForm(big)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := env.svc.Token(context.Background(), ocrAppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.post(context.Background(), tok, body, ctype); classify(err).Code != "101002" {
		t.Fatalf("raw upload of %d bytes: err %v, want errcode 101002", len(big), err)
	}

	res, err := o.Recognize(context.Background(), ocr.Request{Image: big, Side: ocr.SideFront})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "林浩然" || res.IDNumber != "110101199005142138" || len(res.Warnings) != 0 {
		t.Fatalf("got %+v, want the male sample card", res)
	}
}

func TestOCRFaultsAreProviderErrors(t *testing.T) {
	for _, tc := range []struct {
		mode, code string
		client     *http.Client
		deadline   time.Duration
	}{
		{mode: sandbox.ModeError, code: "-1"},
		{mode: sandbox.ModeQuota, code: "101003"},
		{mode: sandbox.ModeTimeout, code: "", client: &http.Client{Timeout: 300 * time.Millisecond}},
		{mode: sandbox.ModeTimeout, code: "", deadline: 300 * time.Millisecond},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			env := newOCREnv(t)
			o := env.provider(t, tc.client)
			env.warm(t)
			if err := env.srv.SetFault(sandbox.Fault{Upstream: "wechat", Mode: tc.mode}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := o.Recognize(ctx, ocr.Request{Image: sample(t, "male_front.png")})
			wantKind(t, err, ocr.ErrProvider, tc.code)
			env.tokens.checkNoToken(t, err)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("gave up after %v", d)
			}
		})
	}
}

func TestOCRRetriesInvalidatedToken(t *testing.T) {
	env := newOCREnv(t)
	o := env.provider(t, nil)
	env.warm(t)
	env.wx.InvalidateTokens(ocrAppID)
	res, err := o.Recognize(context.Background(), ocr.Request{Image: sample(t, "female_back.png")})
	if err != nil {
		t.Fatal(err)
	}
	if res.ValidFrom != "2019-03-11" || res.ValidTo != "2029-03-11" {
		t.Fatalf("got %+v", res)
	}
	used := env.tokens.used()
	if len(used) != 2 || used[0] == used[1] {
		t.Fatalf("tokens used %d times, want the invalidated one then a new one", len(used))
	}
	if n := env.srv.Calls()[ocrCalls]; n != 2 {
		t.Fatalf("%d OCR calls, want 2", n)
	}
}

func TestOCRTokenStillRejected(t *testing.T) {
	env := newOCREnv(t)
	const bogus = "bogus-access-token-that-wechat-never-issued"
	o, err := NewOCR(env.srv.URL(), nil, ocrAppID, stubDoer(bogus))
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Recognize(context.Background(), ocr.Request{Image: sample(t, "male_front.png")})
	wantKind(t, err, ocr.ErrProvider, "40001")
	if strings.Contains(err.Error(), bogus) {
		t.Fatalf("error quotes the access_token: %v", err)
	}
}

func TestOCRHTTPErrorIsProviderError(t *testing.T) {
	env := newOCREnv(t)
	o, err := NewOCR(env.srv.URL()+"/nowhere", nil, ocrAppID, env.tokens)
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Recognize(context.Background(), ocr.Request{Image: sample(t, "male_front.png")})
	oe := wantKind(t, err, ocr.ErrProvider, "")
	if !strings.Contains(oe.Error(), "HTTP 404") {
		t.Fatalf("err = %v, want HTTP 404", err)
	}
	env.tokens.checkNoToken(t, err)
}

func TestNewOCRRejectsBadBase(t *testing.T) {
	for _, base := range []string{"api.weixin.qq.com", "ftp://x", "http://", "http://x/?a=b", "http://a b"} {
		if _, err := NewOCR(base, nil, ocrAppID, stubDoer("t")); err == nil {
			t.Errorf("NewOCR(%q) accepted", base)
		}
	}
}

func TestDecodeAnswerAndClassify(t *testing.T) {
	for _, tc := range []struct {
		body string
		kind error // nil: success
		code string
	}{
		{`{"errcode":0,"errmsg":"ok","type":"Front","name":"x"}`, nil, ""},
		{`{"errcode":"0","errmsg":"ok","type":"Front","name":"x"}`, nil, ""},
		{`{"type":"Front","name":"x"}`, nil, ""},
		{`{"errcode":"101001","errmsg":"certificate not found"}`, ocr.ErrNoCard, "101001"},
		{`{"errcode":"40014","errmsg":"invalid access_token"}`, ocr.ErrProvider, "40014"},
		{`{"errcode":101001,"errmsg":"certificate not found"}`, ocr.ErrNoCard, "101001"},
		{`{"errcode":101002,"errmsg":"decode image failed"}`, ocr.ErrBadImage, "101002"},
		{`{"errcode":101000,"errmsg":"invalid image url"}`, ocr.ErrBadImage, "101000"},
		{`{"errcode":101003,"errmsg":"not enough market quota"}`, ocr.ErrProvider, "101003"},
		{`{"errcode":-1,"errmsg":"system error"}`, ocr.ErrProvider, "-1"},
		{`{"errcode":45009,"errmsg":"reach max api daily quota limit"}`, ocr.ErrProvider, "45009"},
		{`{"errcode":45011,"errmsg":"api minute-quota reach limit"}`, ocr.ErrProvider, "45011"},
		{`{"errcode":42001,"errmsg":"access_token expired"}`, ocr.ErrProvider, "42001"},
		{`{"errcode":40014,"errmsg":"invalid access_token"}`, ocr.ErrProvider, "40014"},
		{`{"errcode":99999,"errmsg":"something new"}`, ocr.ErrProvider, "99999"},
		{`<html>502 Bad Gateway</html>`, ocr.ErrProvider, ""},
		{`{"errcode":"zero"}`, ocr.ErrProvider, ""},
		{`{"errcode":0,"type":"Front","name":"` + strings.Repeat("x", ocrMaxAnswer) + `"}`, ocr.ErrProvider, ""},
	} {
		_, err := decodeAnswer([]byte(tc.body))
		if tc.kind == nil {
			if err != nil {
				t.Errorf("%.40s: %v", tc.body, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%.40s: no error", tc.body)
			continue
		}
		// Token-rejection codes must reach the token source as such, so it
		// retries with a fresh token.
		if rejected := tc.code == "42001" || tc.code == "40014"; token.Rejected(err) != rejected {
			t.Errorf("%.40s: token.Rejected = %v", tc.body, !rejected)
		}
		e := classify(err)
		if !errors.Is(e, tc.kind) || e.Code != tc.code {
			t.Errorf("%.40s: got %v, code %q; want %v, code %q", tc.body, e, e.Code, tc.kind, tc.code)
		}
	}
}

func TestResultOfNormalises(t *testing.T) {
	for _, tc := range []struct {
		body string
		want ocr.Fields
	}{
		{`{"type":"Front","name":" 张三 ","id":"11010519491231002x","gender":"男","nationality":"汉族","addr":"北京市"}`,
			ocr.Fields{Side: ocr.SideFront, Name: "张三", IDNumber: "11010519491231002X", Birth: "1949-12-31",
				Sex: "男", Ethnicity: "汉", Address: "北京市"}},
		{`{"type":"front","id":"110105491231002"}`, // first-generation 15-digit number
			ocr.Fields{Side: ocr.SideFront, IDNumber: "110105491231002", Birth: "1949-12-31"}},
		{`{"type":"Front","id":"110105194913310021"}`, // no such date: no birth guessed
			ocr.Fields{Side: ocr.SideFront, IDNumber: "110105194913310021"}},
		{`{"type":"Back","valid_date":"20160820-20360820"}`,
			ocr.Fields{Side: ocr.SideBack, ValidFrom: "2016-08-20", ValidTo: "2036-08-20"}},
		{`{"type":"Back","valid_date":"20120605-长期"}`,
			ocr.Fields{Side: ocr.SideBack, ValidFrom: "2012-06-05", LongTerm: true}},
		{`{"type":"Back","valid_date":"2016.08.20-2036.08.20"}`,
			ocr.Fields{Side: ocr.SideBack, ValidFrom: "2016-08-20", ValidTo: "2036-08-20"}},
		{`{"type":"Back","valid_date":"unreadable"}`, ocr.Fields{Side: ocr.SideBack}},
	} {
		ans, err := decodeAnswer([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := resultOf(ans)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if res.Fields != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.body, res.Fields, tc.want)
		}
	}
	if _, err := resultOf(mustDecode(t, `{"errcode":0,"errmsg":"ok"}`)); err == nil {
		t.Error("an answer without a side was accepted")
	}
}

func mustDecode(t *testing.T, body string) (ans idcardAnswer) {
	t.Helper()
	ans, err := decodeAnswer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ans
}
