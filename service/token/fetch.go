package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"realname/service/transport"
	"realname/service/vendorcode"
)

// Modes of fetching a token from WeChat.
const (
	ModeStable  = "stable"  // POST cgi-bin/stable_token: the same token until it expires
	ModeClassic = "classic" // GET cgi-bin/token: every call issues a new token
)

// APIError is an errcode answer from WeChat's token endpoints.
type APIError struct {
	Code int
	Msg  string
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// ErrCode exposes the WeChat errcode to callers that classify errors.
func (e *APIError) ErrCode() int { return e.Code }

// ErrUpstream marks every failure to get a token from WeChat, so callers
// can answer "upstream unavailable" whatever the cause.
var ErrUpstream = errors.New("token: WeChat token endpoint failed")

// WeChatFetcher calls WeChat for a fresh access_token. It is the only code
// that talks to the token endpoints, so quota use is visible in one place.
type WeChatFetcher struct {
	Base   string // e.g. https://api.weixin.qq.com, or the sandbox
	Mode   string // ModeStable or ModeClassic
	Client *http.Client
	Now    func() time.Time
}

// NewWeChatFetcher builds a fetcher with a bounded HTTP client.
func NewWeChatFetcher(base, mode string) *WeChatFetcher {
	return &WeChatFetcher{
		Base:   strings.TrimRight(base, "/"),
		Mode:   mode,
		Client: &http.Client{Timeout: 10 * time.Second},
		Now:    time.Now,
	}
}

type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   int64           `json:"expires_in"`
	ErrCode     vendorcode.Code `json:"errcode"` // absent on success
	ErrMsg      string          `json:"errmsg"`
}

// Fetch asks WeChat for a token. force asks stable_token for a new one even
// though the current one is valid (rate-limited by WeChat); classic ignores
// it because every classic call issues a new token.
func (f *WeChatFetcher) Fetch(ctx context.Context, app App, force bool) (Token, error) {
	var req *http.Request
	var err error
	if f.Mode == ModeClassic {
		q := url.Values{"grant_type": {"client_credential"}, "appid": {app.AppID}, "secret": {app.Secret}}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, f.Base+"/cgi-bin/token?"+q.Encode(), nil)
	} else {
		body, _ := json.Marshal(map[string]any{
			"grant_type": "client_credential", "appid": app.AppID, "secret": app.Secret, "force_refresh": force,
		})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, f.Base+"/cgi-bin/stable_token", bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return Token{}, fmt.Errorf("token: build request: %w", err)
	}
	// The lifetime counts from when WeChat answered, which is after we sent:
	// measuring from the send time errs on the safe side.
	sent := f.Now()
	resp, err := f.Client.Do(req)
	if err != nil {
		// A classic URL carries the secret.
		return Token{}, fmt.Errorf("%w: %s request: %w", ErrUpstream, f.Mode, transport.Cause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Token{}, fmt.Errorf("%w: %s answered HTTP %d", ErrUpstream, f.Mode, resp.StatusCode)
	}
	var ans tokenAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil {
		return Token{}, fmt.Errorf("%w: decode %s answer: %w", ErrUpstream, f.Mode, err)
	}
	if ans.ErrCode != 0 {
		return Token{}, fmt.Errorf("%w: %w", ErrUpstream, &APIError{Code: int(ans.ErrCode), Msg: ans.ErrMsg})
	}
	if ans.AccessToken == "" || ans.ExpiresIn <= 0 {
		return Token{}, fmt.Errorf("%w: answer has no access_token or expires_in", ErrUpstream)
	}
	// The token goes into URLs and Redis and the lifetime into time
	// arithmetic: an answer outside what WeChat issues (7200 s; tokens of
	// letters, digits and -_ that need 512 characters at most) is refused,
	// not cached for centuries or let loose in a query string.
	if ans.ExpiresIn > maxTokenLifetime {
		return Token{}, fmt.Errorf("%w: answer has expires_in %d, over a day", ErrUpstream, ans.ExpiresIn)
	}
	if !plausibleToken(ans.AccessToken) {
		return Token{}, fmt.Errorf("%w: answer's access_token is not %d URL-safe characters at most", ErrUpstream, maxTokenLen)
	}
	return Token{Value: ans.AccessToken, ExpiresAt: sent.Add(usableFor(time.Duration(ans.ExpiresIn) * time.Second))}, nil
}

// Bounds of a plausible answer (see Fetch).
const (
	maxTokenLifetime = 24 * 3600
	maxTokenLen      = 2048
)

// plausibleToken reports whether v could be an access_token: unreserved URL
// characters only, so it can stand in a query string as it is.
func plausibleToken(v string) bool {
	if len(v) > maxTokenLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '*') {
			return false
		}
	}
	return true
}

// usableFor shortens WeChat's lifetime by a twentieth (at most 30 s), so a
// token is never handed out in the instant before WeChat expires it: the
// caller still has to send its request, and clocks differ.
func usableFor(lifetime time.Duration) time.Duration {
	return lifetime - min(lifetime/20, 30*time.Second)
}
