package handler

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"realname/service/idcard"
	"realname/service/login"
	"realname/service/ocr"
	"realname/service/session"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/webhook"
	"realname/service/wechat"
)

// More stable codes, for causes that come from the services.
const (
	CodeInvalidCode           = "invalid_code"
	CodeRateLimited           = "rate_limited"
	CodeRiskyUser             = "risky_user"
	CodeUnknownApp            = "unknown_app"
	CodeUpstreamUnavailable   = "upstream_unavailable"
	CodeTimeout               = "timeout"
	CodeInvalidRequest        = "invalid_request"
	CodeImageRequired         = "image_required"
	CodeUnsupportedImage      = "unsupported_image"
	CodeImageInvalid          = "image_invalid"
	CodeImageTooLarge         = "image_too_large"
	CodeBusy                  = "busy"
	CodeNotAnIDCard           = "not_an_id_card"
	CodeOCRUnavailable        = "ocr_unavailable"
	CodeIDNumberInvalid       = "id_number_invalid"
	CodeNameInvalid           = "name_invalid"
	CodeConsentRequired       = "consent_required"
	CodeConsentOutdated       = "consent_outdated"
	CodeInvalidState          = "invalid_state"
	CodeVerificationErased    = "verification_erased"
	CodeAlreadyVerified       = "already_verified"
	CodeSideMissing           = "side_missing"
	CodeNoVerification        = "no_verification"
	CodeCheckDisabled         = "check_disabled"
	CodeTooManyAttempts       = "too_many_attempts"
	CodeConfirmCorrection     = "confirm_correction"
	CodeTooManyChecksForID    = "too_many_checks_for_id"
	CodeTooManyIDsForAccount  = "too_many_ids_for_account"
	CodeIdempotencyInProgress = "idempotency_in_progress"
	CodeIdempotencyKeyReused  = "idempotency_key_reused"
	CodeIdempotencyKeyErased  = "idempotency_key_erased"
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
	{verify.ErrConsentRequired, http.StatusPreconditionRequired, CodeConsentRequired, "send consent_version: the version of the personal-data notice the user agreed to"},
	{verify.ErrConsentOutdated, http.StatusPreconditionRequired, CodeConsentOutdated, "the user agreed to an outdated notice; show the current one"},
	{verify.ErrAlreadyVerified, http.StatusConflict, CodeAlreadyVerified, "the user is already verified"},
	{verify.ErrSideMissing, http.StatusConflict, CodeSideMissing, "upload the missing side of the card first"},
	{verify.ErrErased, http.StatusConflict, CodeVerificationErased, "the verification was erased at the user's request; start a new one"},
	{verify.ErrInvalidState, http.StatusConflict, CodeInvalidState, "not possible in the verification's current state"},
	{verify.ErrNoVerification, http.StatusNotFound, CodeNoVerification, "no verification yet"},
	{verify.ErrNoUser, http.StatusNotFound, CodeUserNotFound, "no user with this openid (and appid) or unionid has logged in"},
	{verify.ErrSubjectConflict, http.StatusBadRequest, CodeSubjectConflict, "the openid in the path and the unionid name different users; name the user by one of them"},
	{verify.ErrNotVerified, http.StatusConflict, CodeNotVerified, "only a verified verification can be revoked"},
	{verify.ErrRevokeReason, http.StatusUnprocessableEntity, CodeReasonRequired, "say why in reason; it goes into the audit trail"},
	{webhook.ErrCursorAhead, http.StatusBadRequest, CodeInvalidCursor, "after must be a cursor from an earlier answer's next"},
	{webhook.ErrCursorExpired, http.StatusGone, CodeCursorExpired, "the events after this cursor are past their retention; read again without after (from the oldest kept) and reconcile your users by their status"},
	{verify.ErrCheckDisabled, http.StatusForbidden, CodeCheckDisabled, "verification without photos is turned off"},
	{verify.ErrFaceOff, http.StatusNotFound, CodeFaceNotEnabled, "face verification is not enabled (REALNAME_FACE)"},
	{verify.ErrNoStepUp, http.StatusNotFound, CodeStepUpNotFound, "no such step-up"},
	{verify.ErrStepUpFinished, http.StatusConflict, CodeStepUpFinished, "the step-up is no longer pending"},
	{verify.ErrStepUpAction, http.StatusBadRequest, CodeInvalidRequest, "action must be a code of 1 to 64 of a-z 0-9 _ . : -"},
	{verify.ErrStepUpTTL, http.StatusBadRequest, CodeInvalidRequest, "ttl must be a duration between 1m and 24h, e.g. 10m"},
	{verify.ErrFaceConsentRequired, http.StatusUnprocessableEntity, CodeFaceConsentRequired, "send consent_version: the version of the face check's notice the user agreed to (face.consent_version)"},
	{verify.ErrFaceNotStarted, http.StatusConflict, CodeFaceNotStarted, "start the face check first: POST /api/v1/verification/face"},
	{verify.ErrFaceUnavailable, http.StatusBadGateway, CodeFaceUnavailable, "the face check could not be reached; retry later"},
	{verify.ErrNameInvalid, http.StatusUnprocessableEntity, CodeNameInvalid, "the name is not valid"},
	{verify.ErrOCRUnavailable, http.StatusServiceUnavailable, CodeOCRUnavailable, "the photo could not be read right now; retry later"},
	{idcard.ErrInvalid, http.StatusUnprocessableEntity, CodeIDNumberInvalid, "the ID number is not valid; check it digit by digit"},
	{ocr.ErrUnsupportedType, http.StatusUnsupportedMediaType, CodeUnsupportedImage, "the photo must be a JPEG, PNG or BMP image"},
	{ocr.ErrNoCard, http.StatusUnprocessableEntity, CodeNotAnIDCard, "no ID card found in the photo; take it again with the whole card in view"},
	{ocr.ErrImageTooLarge, http.StatusUnprocessableEntity, CodeImageTooLarge, "the photo has more pixels than can be read; take it with the camera's normal mode"},
	{ocr.ErrBusy, http.StatusServiceUnavailable, CodeBusy, "the server is busy with other photos; retry in a few seconds"},
	{ocr.ErrBadImage, http.StatusUnprocessableEntity, CodeImageInvalid, "the photo cannot be read; take it again"},
	{token.ErrUnknownApp, http.StatusNotFound, CodeUnknownApp, "unknown appid"},
	{token.ErrUpstream, http.StatusBadGateway, CodeUpstreamUnavailable, "WeChat is unavailable; retry later"},
	{token.ErrWaitTimeout, http.StatusServiceUnavailable, CodeTimeout, "the token refresh took too long; retry later"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, CodeTimeout, "the request took too long; retry later"},
}

// renderError answers err in the JSON error shape and logs the internal
// cause (through the redacting logger) for anything unexpected.
func (a *api) renderError(c *gin.Context, err error) { renderError(a.log, c, err) }

// renderErrorWith adds the provider attempts, so the Mini Program (and its
// developers) see why a photo could not be read.
func (a *api) renderErrorWith(c *gin.Context, err error, attempts []verify.AttemptView) {
	renderErrorDetail(a.log, c, err, attempts)
}

// renderError is api.renderError for handlers outside the Mini Program API.
func renderError(log *slog.Logger, c *gin.Context, err error) { renderErrorDetail(log, c, err, nil) }

func renderErrorDetail(log *slog.Logger, c *gin.Context, err error, attempts []verify.AttemptView) {
	var many *verify.TooManyError
	if errors.As(err, &many) {
		c.Header("Retry-After", strconv.Itoa(int(many.RetryAfter.Seconds())+1))
		code, msg := CodeTooManyAttempts, "too many attempts today; retry tomorrow"
		switch many.Limit {
		case verify.LimitIDChecks:
			code, msg = CodeTooManyChecksForID, "this ID number was checked too often today; retry tomorrow"
		case verify.LimitIDsPerAccount:
			code, msg = CodeTooManyIDsForAccount, "this account tried too many different ID numbers today; retry tomorrow"
		}
		d := ErrorDetail{Code: code, Message: errorMessage(c, code, msg), RequestID: requestIDFrom(c), NextAction: verify.NextWaitUntil}
		if !many.ResetAt.IsZero() {
			d.RetryAt = &many.ResetAt
		}
		c.AbortWithStatusJSON(http.StatusTooManyRequests, ErrorBody{Error: d})
		return
	}
	var confirm *verify.ConfirmError
	if errors.As(err, &confirm) {
		c.AbortWithStatusJSON(http.StatusConflict, ErrorBody{Error: ErrorDetail{Code: CodeConfirmCorrection, Fields: confirm.Fields, NextAction: verify.NextConfirm,
			Message: errorMessage(c, CodeConfirmCorrection, "what was typed contradicts the card; check it, then send it again with confirm: true"), RequestID: requestIDFrom(c)}})
		return
	}
	for _, m := range serviceErrors {
		if errors.Is(err, m.err) {
			if m.err == ocr.ErrBusy {
				c.Header("Retry-After", "2")
			}
			if m.status >= 500 {
				log.Warn("request failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
			}
			detail := ErrorDetail{Code: m.code, Message: errorMessage(c, m.code, m.message), RequestID: requestIDFrom(c)}
			if len(attempts) > 0 { // a nil slice in an any field would render as null
				detail.Attempts = attempts
			}
			c.AbortWithStatusJSON(m.status, ErrorBody{Error: detail})
			return
		}
	}
	if diskFull(err) {
		// Freed space makes a retry work; /readyz fails meanwhile, so
		// traffic drains from this instance.
		markDiskFull(c)
		log.Error("a write failed: disk full", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
		c.Header("Retry-After", "60")
		abortWithError(c, http.StatusServiceUnavailable, CodeDiskFull, "the server's storage is full; retry later")
		return
	}
	if storeUnavailable(err) {
		// The database or Redis is down or out of connections: a retry
		// soon may work, which a 500 would not tell the Mini Program.
		log.Warn("store unavailable", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
		c.Header("Retry-After", "5")
		abortWithError(c, http.StatusServiceUnavailable, CodeUnavailable, "temporarily unavailable; retry shortly")
		return
	}
	log.Error("request failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
	abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
}

// storeUnavailable recognises a database or Redis that cannot be reached or
// refuses connections, as opposed to a bug.
func storeUnavailable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &netErr), errors.As(err, &connErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, redis.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed), pgconn.SafeToRetry(err):
		return true
	case errors.As(err, &pgErr):
		// 53xxx: insufficient resources (too many connections); 57P0x:
		// the server is shutting down or restarting.
		return strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57P0")
	}
	return errors.Is(err, mysql.ErrInvalidConn)
}
