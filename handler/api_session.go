package handler

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/login"
	"realname/service/session"
)

// Login is the login service as the API uses it.
type Login interface {
	Login(ctx context.Context, appID, code string) (login.Result, error)
}

// Sessions resolves and revokes bearer tokens.
type Sessions interface {
	Lookup(ctx context.Context, token string) (session.Info, error)
	Revoke(ctx context.Context, token string) error
	// RevokeAll ends every session of the user (logout everywhere).
	RevokeAll(ctx context.Context, userID int64) (int, error)
}

// api holds what the Mini Program routes need.
type api struct {
	log      *slog.Logger
	login    Login
	sessions Sessions
	verify   Verifier
	idem     Idempotency // nil: Idempotency-Key is ignored
}

const sessionInfoKey = "session"

type loginRequest struct {
	Code  string `json:"code"`
	AppID string `json:"appid"`
}

type sessionResponse struct {
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *api) createSession(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	res, err := a.login.Login(c.Request.Context(), req.AppID, req.Code)
	if err != nil {
		a.renderError(c, err)
		return
	}
	c.JSON(http.StatusCreated, sessionResponse{Token: res.Token, ExpiresAt: res.ExpiresAt})
}

func (a *api) showSession(c *gin.Context) {
	info := c.MustGet(sessionInfoKey).(session.Info)
	c.JSON(http.StatusOK, sessionResponse{ExpiresAt: info.ExpiresAt})
}

func (a *api) deleteSession(c *gin.Context) {
	if err := a.sessions.Revoke(c.Request.Context(), bearer(c)); err != nil {
		a.renderError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// deleteSessions ends every session of the caller, this one included: a
// lost phone's session ends from the new one.
func (a *api) deleteSessions(c *gin.Context) {
	info := c.MustGet(sessionInfoKey).(session.Info)
	if _, err := a.sessions.RevokeAll(c.Request.Context(), info.UserID); err != nil {
		a.renderError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// requireSession admits requests with a live bearer token.
func (a *api) requireSession(c *gin.Context) {
	token := bearer(c)
	if token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="realname"`)
		abortWithError(c, http.StatusUnauthorized, CodeUnauthorized, "send Authorization: Bearer <token> from POST /api/v1/session")
		return
	}
	info, err := a.sessions.Lookup(c.Request.Context(), token)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="realname", error="invalid_token"`)
		a.renderError(c, err)
		return
	}
	c.Set(sessionInfoKey, info)
	c.Next()
}

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
