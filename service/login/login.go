// Package login turns a Mini Program's wx.login code into a session: it asks
// WeChat who the user is, records the user, and issues a bearer token.
package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/session"
	"realname/service/wechat"
)

// CodeExchanger is WeChat's code2session.
type CodeExchanger interface {
	Code2Session(ctx context.Context, appID, code string) (wechat.Session, error)
}

// Sessions issues bearer tokens.
type Sessions interface {
	Create(ctx context.Context, userID int64, appID string) (string, session.Info, error)
}

// Users records who logged in (a *store.Store, the users table's writer):
// the user, created or found by (app id, openid), with their sealed
// session key; it returns their id.
type Users interface {
	SaveLogin(ctx context.Context, u model.User) (int64, error)
}

// Encrypter seals the session_key at rest.
type Encrypter interface {
	EncryptString(plaintext string, aad []byte) ([]byte, error)
}

// ErrBadCode is a malformed code, refused before calling WeChat.
var ErrBadCode = errors.New("login: code is missing or malformed")

// Service logs users in.
type Service struct {
	users      Users
	wx         CodeExchanger
	sessions   Sessions
	enc        Encrypter
	defaultApp string
}

// New returns the login service; defaultApp is used when a request names no app.
func New(users Users, wx CodeExchanger, sessions Sessions, enc Encrypter, defaultApp string) *Service {
	return &Service{users: users, wx: wx, sessions: sessions, enc: enc, defaultApp: defaultApp}
}

// Result is a new session.
type Result struct {
	Token     string
	ExpiresAt time.Time
	UserID    int64
}

// Login exchanges code (from wx.login) for a session of appID's user.
func (s *Service) Login(ctx context.Context, appID, code string) (Result, error) {
	if appID == "" {
		appID = s.defaultApp
	}
	if !plausibleCode(code) {
		return Result{}, ErrBadCode
	}
	ws, err := s.wx.Code2Session(ctx, appID, code)
	if err != nil {
		return Result{}, err
	}
	user, err := s.upsert(ctx, ws)
	if err != nil {
		return Result{}, err
	}
	token, info, err := s.sessions.Create(ctx, user.ID, appID)
	if err != nil {
		return Result{}, err
	}
	return Result{Token: token, ExpiresAt: info.ExpiresAt, UserID: user.ID}, nil
}

// SessionKeyAAD binds an encrypted session_key to its user row.
func SessionKeyAAD(appID, openID string) []byte {
	return []byte("users.session_key:" + appID + ":" + openID)
}

// upsert records the user by (app id, openid), with their session key
// sealed: one statement (Users.SaveLogin).
func (s *Service) upsert(ctx context.Context, ws wechat.Session) (model.User, error) {
	enc, err := s.enc.EncryptString(ws.SessionKey, SessionKeyAAD(ws.AppID, ws.OpenID))
	if err != nil {
		return model.User{}, fmt.Errorf("login: encrypt session key: %w", err)
	}
	u := model.User{AppID: ws.AppID, OpenID: ws.OpenID, UnionID: ws.UnionID, SessionKeyEnc: enc}
	if u.ID, err = s.users.SaveLogin(ctx, u); err != nil {
		return model.User{}, fmt.Errorf("login: %w", err)
	}
	return u, nil
}

// plausibleCode checks a wx.login code before any call: WeChat issues
// short tokens of letters and digits (the sandbox's are "name:nonce"). The
// SDK puts the code into the jscode2session URL unescaped, so anything
// else ("x&grant_type=…", "#") could change the request; it is refused.
func plausibleCode(code string) bool {
	if code == "" || len(code) > 128 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}
