package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"realname/testdata/idcard"
)

// WeChatUpstream is the upstream name the WeChat fake registers under, for
// fault injection (POST /_sandbox/faults {"upstream":"wechat",…}).
const WeChatUpstream = "wechat"

// The app `realname serve --sandbox` talks to when no WeChat app is configured.
const (
	// SandboxAppID is the appid of the app NewWeChat adds when opts.Apps is nil.
	SandboxAppID = "wxsandbox0000000001"
	// SandboxAppSecret is the secret of SandboxAppID.
	SandboxAppSecret = "sandbox-secret"
)

// WeChatOptions configures the WeChat fake. Zero values mean WeChat's own
// limits; a negative duration or limit switches that rule off.
type WeChatOptions struct {
	// Apps maps appid to secret. Nil means the single sandbox app
	// (SandboxAppID); an empty non-nil map means no app until AddApp.
	Apps map[string]string
	// TokenTTL is the lifetime of a new access_token; default 7200 s.
	TokenTTL time.Duration
	// Grace is how long a token stays valid after a newer one of the same
	// family replaced it; default 5 minutes.
	Grace time.Duration
	// ClassicDailyLimit caps cgi-bin/token calls per app and day; default 2000.
	ClassicDailyLimit int
	// ForceDailyLimit caps stable_token force refreshes per app and day; default 20.
	ForceDailyLimit int
	// RenewWindow is how long before expiry stable_token's normal mode
	// stops handing out the current token and issues a new one; default 5
	// minutes (WeChat renews stable tokens ahead of expiry, so a caller
	// refreshing early gets a fresh token instead of a dying one).
	RenewWindow time.Duration
	// ForceInterval is the least time between two force refreshes of an
	// app; default 30 s.
	ForceInterval time.Duration
	// NoUnionID leaves unionid out of jscode2session answers, as for an app
	// not bound to an Open Platform account.
	NoUnionID bool
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
	// HTTPClient downloads img_url for OCR; nil means a client with a 5 s
	// timeout. Tests pass one that trusts their TLS test server.
	HTTPClient *http.Client
	// FaceTTL is the lifetime of a face verify_id (expires_in); default
	// 3600 s, WeChat's documented one. Rounded down to whole seconds, at
	// least one.
	FaceTTL time.Duration
	// FaceByCard decides face checks nobody decided through the control
	// endpoint from the sample cards, for tests without a Mini Program
	// (see SetFaceByCard).
	FaceByCard bool
}

// WeChat fakes the WeChat server APIs the backend uses: cgi-bin/token,
// cgi-bin/stable_token, sns/jscode2session, cv/ocr/idcard,
// subscribeMessage.send and face verification's getVerifyId and
// queryVerifyInfo (wechat_face.go). It is safe for concurrent use.
type WeChat struct {
	cards  *Cards
	opts   WeChatOptions
	client *http.Client
	// china is where WeChat's day (for daily quotas) begins and ends.
	china *time.Location

	mu     sync.Mutex
	apps   map[string]*wxApp
	tokens map[string]*wxToken // every token still current or in grace
	used   map[string]struct{} // appid + "\x00" + js_code already exchanged

	subscribeSent   []SubscribeMessage // every subscribe/send taken, for tests
	refuseSubscribe bool               // answer 43101 to every subscribe/send

	faces      map[string]*faceCheck // by verify_id
	faceSeqs   map[string]struct{}   // appid + "\x00" + out_seq_no already used
	faceByCard bool
	faceCards  map[string]idcard.Card // sample cards by upper-case number
}

// NewWeChat returns a fake that recognises cards and serves the apps in opts.
func NewWeChat(cards *Cards, opts WeChatOptions) *WeChat {
	apps := opts.Apps
	if apps == nil {
		apps = map[string]string{SandboxAppID: SandboxAppSecret}
	}
	opts.TokenTTL = orDefault(opts.TokenTTL, 7200*time.Second)
	opts.Grace = orDefault(opts.Grace, 5*time.Minute)
	opts.ForceInterval = orDefault(opts.ForceInterval, 30*time.Second)
	opts.RenewWindow = orDefault(opts.RenewWindow, 5*time.Minute)
	opts.ClassicDailyLimit = orDefault(opts.ClassicDailyLimit, 2000)
	opts.ForceDailyLimit = orDefault(opts.ForceDailyLimit, 20)
	opts.FaceTTL = max(orDefault(opts.FaceTTL, 3600*time.Second), time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	w := &WeChat{
		cards:  cards,
		opts:   opts,
		client: client,
		china:  time.FixedZone("CST", 8*60*60),
		apps:   map[string]*wxApp{},
		tokens: map[string]*wxToken{},
		used:   map[string]struct{}{},

		faces:      map[string]*faceCheck{},
		faceSeqs:   map[string]struct{}{},
		faceByCard: opts.FaceByCard,
		faceCards:  map[string]idcard.Card{},
	}
	// idcard.Cards only fails if the embedded JSON is broken, which
	// LoadCards (needed to build cards) would already have reported.
	all, _ := idcard.Cards()
	for _, c := range all {
		w.faceCards[strings.ToUpper(c.IDNumber)] = c
	}
	for id, secret := range apps {
		w.AddApp(id, secret)
	}
	return w
}

// orDefault maps zero to def and negative values to zero ("rule off").
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Mount registers the WeChat endpoints on s under upstream "wechat", face
// verification's under "wechat_face" (so a test or the bench can fail the
// face check alone; a WeChat outage sets both), and the fake's control
// endpoints under /_sandbox/wechat/.
func (w *WeChat) Mount(s *Server) {
	s.Register(WeChatUpstream, "GET /cgi-bin/token", http.HandlerFunc(w.serveToken), w.writeFailure)
	s.Register(WeChatUpstream, "POST /cgi-bin/stable_token", http.HandlerFunc(w.serveStableToken), w.writeFailure)
	s.Register(WeChatUpstream, "GET /sns/jscode2session", http.HandlerFunc(w.serveCode2Session), w.writeFailure)
	s.Register(WeChatUpstream, "POST /cv/ocr/idcard", http.HandlerFunc(w.serveIDCardOCR), w.writeFailure)
	s.Register(WeChatUpstream, "POST /cgi-bin/message/subscribe/send", http.HandlerFunc(w.serveSubscribeSend), w.writeFailure)
	s.Register(WeChatFaceUpstream, "POST "+faceGetPath, http.HandlerFunc(w.serveGetVerifyID), w.writeFailure)
	s.Register(WeChatFaceUpstream, "POST "+faceQueryPath, http.HandlerFunc(w.serveQueryVerifyInfo), w.writeFailure)
	s.HandleControl("POST /_sandbox/wechat/face", http.HandlerFunc(w.controlFace))
	s.HandleControl("POST /_sandbox/wechat/face/mode", http.HandlerFunc(w.controlFaceMode))
	s.HandleControl("POST /_sandbox/wechat/apps", http.HandlerFunc(w.controlAddApp))
	s.HandleControl("POST /_sandbox/wechat/invalidate", http.HandlerFunc(w.controlInvalidate))
	s.HandleControl("GET /_sandbox/wechat/tokens", http.HandlerFunc(w.controlTokens))
	s.HandleControl("GET /_sandbox/wechat/subscribe", http.HandlerFunc(w.controlSubscribe))
	s.HandleControl("POST /_sandbox/wechat/subscribe", http.HandlerFunc(w.controlSubscribe))
}

// WeChatError is WeChat's error answer, {"errcode":N,"errmsg":"…"}; the
// fake renders it and ValidToken returns it.
type WeChatError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

// Error reports the code and message.
func (e *WeChatError) Error() string {
	return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg)
}

// wxErr builds the error for code with WeChat's message for it. Messages
// are WeChat's own, without the ", rid: …" suffix the real server appends.
func wxErr(code int) *WeChatError {
	return &WeChatError{Code: code, Msg: wxMessage(code)}
}

func wxMessage(code int) string {
	switch code {
	case 40001:
		return "invalid credential, access_token is invalid or not latest"
	case 40002:
		return "invalid grant_type"
	case 40013:
		return "invalid appid"
	case 40029:
		return "invalid code"
	case 40125:
		return "invalid appsecret"
	case 40163:
		return "code been used"
	case 40226:
		return "high risk user"
	case 41001:
		return "access_token missing"
	case 41002:
		return "appid missing"
	case 41004:
		return "appsecret missing"
	case 42001:
		return "access_token expired"
	case 45009:
		return "reach max api daily quota limit"
	case 45011:
		return "api minute-quota reach limit mustslower retry next minute"
	case 47001:
		return "data format error"
	case 40003:
		return "invalid openid"
	case 40097:
		return "invalid args"
	case 84001:
		return "invalid identify id"
	case 101000:
		return "invalid image url"
	case 101001:
		return "certificate not found"
	case 101002:
		return "decode image failed"
	case 101003:
		return "not enough market quota"
	}
	return "system error"
}

// writeWx answers like WeChat: always HTTP 200, the outcome in the body.
func writeWx(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, v)
}

// writeFailure renders the fault modes as each endpoint's own error: the
// token endpoints run out of daily quota, login hits the per-minute limit,
// OCR runs out of purchased quota.
func (w *WeChat) writeFailure(rw http.ResponseWriter, r *http.Request, mode string) {
	if mode != ModeQuota {
		writeWx(rw, wxErr(-1))
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/cgi-bin/"):
		writeWx(rw, wxErr(45009))
	case strings.HasPrefix(r.URL.Path, "/sns/"):
		writeWx(rw, wxErr(45011))
	case strings.HasPrefix(r.URL.Path, "/cv/"):
		writeWx(rw, wxErr(101003))
	case strings.HasPrefix(r.URL.Path, "/cityservice/"):
		writeWx(rw, wxErr(45009))
	default:
		writeWx(rw, wxErr(-1))
	}
}

// authenticate checks a request's credentials in the order WeChat does:
// grant_type, then appid, then secret. It returns the app on success.
func (w *WeChat) authenticate(grantType, wantGrant, appid, secret string) (*wxApp, *WeChatError) {
	if grantType != wantGrant {
		return nil, wxErr(40002)
	}
	if appid == "" {
		return nil, wxErr(41002)
	}
	w.mu.Lock()
	app := w.apps[appid]
	secretOK := app != nil && app.secret == secret
	w.mu.Unlock()
	switch {
	case app == nil:
		return nil, wxErr(40013)
	case secret == "":
		return nil, wxErr(41004)
	case !secretOK:
		return nil, wxErr(40125)
	}
	return app, nil
}

// ErrCode exposes the errcode to callers that classify errors by it, as
// the token service does to spot a rejected access_token.
func (e *WeChatError) ErrCode() int { return e.Code }
