// Package wechat talks to WeChat for the Mini Program: login (code2session)
// through silenceper/wechat/v2, ID-card OCR (ocr.go) and face verification
// 2.0 (face.go; the SDK has nothing for it), the last two over net/http
// with the token service's shared access_token.
package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
)

// Login errors, by what the caller should tell the user.
var (
	ErrInvalidCode = errors.New("wechat: login code is invalid, expired or already used")
	ErrRateLimited = errors.New("wechat: login rate limited by WeChat")
	ErrRiskyUser   = errors.New("wechat: WeChat refused this user as high risk")
	ErrUnknownApp  = errors.New("wechat: unknown app id")
	ErrUpstream    = errors.New("wechat: WeChat unavailable")
)

// APIError is an errcode answer from a WeChat API.
type APIError struct {
	API  string
	Code int
	Msg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// ErrCode lets the token service recognise rejected access_tokens.
func (e *APIError) ErrCode() int { return e.Code }

// Session is what code2session tells about a user. SessionKey is secret.
type Session struct {
	AppID      string
	OpenID     string
	UnionID    string
	SessionKey string
}

// App is one Mini Program's credentials.
type App struct {
	AppID  string
	Secret string
}

// TokenHandles gives the SDK its access_token source per app (the token
// service), so the SDK's own per-process cache is never used.
type TokenHandles interface {
	SDKHandle(appID string) credential.AccessTokenContextHandle
}

// Client holds one SDK client per configured Mini Program.
type Client struct {
	apps map[string]*miniprogram.MiniProgram
}

// NewClient builds SDK clients with miniprogram.NewMiniProgram directly:
// importing the SDK's root package would reconfigure global logrus.
func NewClient(apps []App, tokens TokenHandles) *Client {
	c := &Client{apps: make(map[string]*miniprogram.MiniProgram, len(apps))}
	for _, a := range apps {
		mp := miniprogram.NewMiniProgram(&mpconfig.Config{AppID: a.AppID, AppSecret: a.Secret, Cache: noCache{}})
		mp.SetAccessTokenContextHandle(tokens.SDKHandle(a.AppID))
		c.apps[a.AppID] = mp
	}
	return c
}

// Code2Session exchanges a wx.login code for the user's openid.
func (c *Client) Code2Session(ctx context.Context, appID, code string) (Session, error) {
	mp := c.apps[appID]
	if mp == nil {
		return Session{}, ErrUnknownApp
	}
	// The SDK's HTTP client has no timeout of its own: without this a hung
	// WeChat would hold the login for the whole request deadline.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := mp.GetAuth().Code2SessionContext(ctx, code)
	switch res.ErrCode {
	case 0:
	case 40029, 40163:
		return Session{}, fmt.Errorf("%w (errcode %d)", ErrInvalidCode, res.ErrCode)
	case 45011:
		return Session{}, fmt.Errorf("%w (errcode %d)", ErrRateLimited, res.ErrCode)
	case 40226:
		return Session{}, fmt.Errorf("%w (errcode %d)", ErrRiskyUser, res.ErrCode)
	default:
		return Session{}, fmt.Errorf("%w: %w", ErrUpstream, &APIError{API: "jscode2session", Code: int(res.ErrCode), Msg: res.ErrMsg})
	}
	if err != nil {
		// The SDK's transport errors quote the URL, which holds the app secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		} else {
			err = errors.New("request failed")
		}
		return Session{}, fmt.Errorf("%w: jscode2session: %w", ErrUpstream, err)
	}
	if res.OpenID == "" {
		return Session{}, fmt.Errorf("%w: jscode2session answered no openid", ErrUpstream)
	}
	return Session{AppID: appID, OpenID: res.OpenID, UnionID: res.UnionID, SessionKey: res.SessionKey}, nil
}

// noCache satisfies the SDK's required cache.Cache and keeps nothing. The
// SDK would cache the access_token in it, per process; our token service
// replaces that handle, and nothing else we call caches, so a real cache
// here could only hold stale copies of what Redis already has.
type noCache struct{}

func (noCache) Get(string) any                       { return nil }
func (noCache) Set(string, any, time.Duration) error { return nil }
func (noCache) IsExist(string) bool                  { return false }
func (noCache) Delete(string) error                  { return nil }
