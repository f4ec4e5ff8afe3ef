package handler

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"realname/service/login"
	"realname/service/session"
	"realname/service/wechat"
)

// More stable codes, for causes that come from the services.
const (
	CodeInvalidCode         = "invalid_code"
	CodeRateLimited         = "rate_limited"
	CodeRiskyUser           = "risky_user"
	CodeUnknownApp          = "unknown_app"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeTimeout             = "timeout"
)

// serviceErrors maps service errors to status and code; the first match
// wins. What the user reads is fixed here, never the internal error text.
var serviceErrors = []struct {
	err     error
	status  int
	code    string
	message string
}{
	{login.ErrBadCode, http.StatusBadRequest, CodeInvalidCode, "code must be the value from wx.login"},
	{wechat.ErrInvalidCode, http.StatusUnauthorized, CodeInvalidCode, "login code is invalid, expired or already used; call wx.login again"},
	{wechat.ErrRateLimited, http.StatusTooManyRequests, CodeRateLimited, "too many logins; retry in a minute"},
	{wechat.ErrRiskyUser, http.StatusForbidden, CodeRiskyUser, "WeChat refused this account"},
	{wechat.ErrUnknownApp, http.StatusBadRequest, CodeUnknownApp, "unknown appid"},
	{wechat.ErrUpstream, http.StatusBadGateway, CodeUpstreamUnavailable, "WeChat is unavailable; retry later"},
	{session.ErrNoSession, http.StatusUnauthorized, CodeUnauthorized, "session is missing or expired; log in again"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, CodeTimeout, "the request took too long; retry later"},
}

// renderError answers err in the JSON error shape and logs the internal
// cause (through the redacting logger) for anything unexpected.
func (a *api) renderError(c *gin.Context, err error) {
	for _, m := range serviceErrors {
		if errors.Is(err, m.err) {
			if m.status >= 500 {
				a.log.Warn("request failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
			}
			abortWithError(c, m.status, m.code, m.message)
			return
		}
	}
	a.log.Error("request failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
	abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
}
