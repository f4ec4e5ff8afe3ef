package handler

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/token"
)

// Tokens is the access_token service as the central token endpoint uses it.
type Tokens interface {
	Current(ctx context.Context, appID string) (token.Token, error)
	Invalidate(ctx context.Context, appID, token string)
	HasApp(appID string) bool
}

// tokenServer is WeChat's recommended "central token server": the company's
// other services fetch the access_token here instead of refreshing it
// themselves, which would invalidate the one every instance holds.
type tokenServer struct {
	log        *slog.Logger
	tokens     Tokens
	secretHash [32]byte
	defaultApp string
}

type tokenAnswer struct {
	AppID       string    `json:"appid"`
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	ExpiresIn   int64     `json:"expires_in"`
}

type invalidateRequest struct {
	AppID       string `json:"appid"`
	AccessToken string `json:"access_token"`
}

// authorize compares hashes so the comparison takes the same time whatever
// the length of the guess.
func (t *tokenServer) authorize(c *gin.Context) {
	got := sha256.Sum256([]byte(bearer(c)))
	if subtle.ConstantTimeCompare(got[:], t.secretHash[:]) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="realname-internal"`)
		abortWithError(c, http.StatusUnauthorized, CodeUnauthorized, "send Authorization: Bearer <REALNAME_WECHAT_TOKEN_SERVER_SECRET>")
		return
	}
	// Tokens must not sit in shared caches or browser history.
	c.Header("Cache-Control", "no-store")
	c.Next()
}

func (t *tokenServer) app(appID string) string {
	if appID == "" {
		return t.defaultApp
	}
	return appID
}

func (t *tokenServer) get(c *gin.Context) {
	appID := t.app(c.Query("appid"))
	tok, err := t.tokens.Current(c.Request.Context(), appID)
	if err != nil {
		renderError(t.log, c, err)
		return
	}
	c.JSON(http.StatusOK, tokenAnswer{
		AppID: appID, AccessToken: tok.Value, ExpiresAt: tok.ExpiresAt.UTC(),
		ExpiresIn: int64(time.Until(tok.ExpiresAt) / time.Second),
	})
}

// invalidate lets a service report a token WeChat rejected (40001/42001),
// so the next get returns a fresh one instead of the same dead token.
func (t *tokenServer) invalidate(c *gin.Context) {
	var req invalidateRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.AccessToken == "" {
		abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "access_token is required")
		return
	}
	appID := t.app(req.AppID)
	if !t.tokens.HasApp(appID) {
		renderError(t.log, c, token.ErrUnknownApp)
		return
	}
	t.tokens.Invalidate(c.Request.Context(), appID, req.AccessToken)
	c.Status(http.StatusNoContent)
}
