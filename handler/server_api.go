package handler

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/apikey"
	"realname/service/verify"
	"realname/service/webhook"
)

// Codes of the server API.
const (
	CodeAPIKeyRequired    = "api_key_required"
	CodeInvalidAPIKey     = "invalid_api_key"
	CodeInsufficientScope = "insufficient_scope"
	CodeUserNotFound      = "user_not_found"
	CodeNotVerified       = "not_verified"
	CodeReasonRequired    = "reason_required"
	CodeInvalidCursor     = "invalid_cursor"
	CodeCursorExpired     = "cursor_expired"
	CodeSubjectConflict   = "subject_conflict"
	CodeTooManyWaiters    = "too_many_waiters"
)

// ServerAPI is what the server API for business systems (/server/v1/)
// needs. Keys authenticate and limit the callers; Verifications answer
// and revoke by user; Events is the webhooks' events as a feed.
type ServerAPI struct {
	Keys          APIKeys
	Verifications ServerVerifications
	Events        EventFeed
}

// APIKeys authenticates, admits and records the uses of API keys (apikey.Service).
type APIKeys interface {
	Authenticate(ctx context.Context, raw string) (apikey.Key, error)
	Admit(ctx context.Context, key apikey.Key, scope string) error
	RecordUse(ctx context.Context, u apikey.Use, last *time.Time) error
}

// ServerVerifications is a user's verification for business systems (verify.Service).
type ServerVerifications interface {
	ServerStatus(ctx context.Context, subj verify.Subject, defaultApp string) (verify.ServerView, error)
	Revoke(ctx context.Context, subj verify.Subject, defaultApp, reason, actor string) (verify.ServerView, error)
}

// EventFeed reads the webhook events in order (webhook.Service).
type EventFeed interface {
	Feed(ctx context.Context, q webhook.FeedQuery) (webhook.FeedPage, error)
	// FeedWait is Feed that waits up to wait for an event after the
	// cursor when there is none yet (a long-poll).
	FeedWait(ctx context.Context, q webhook.FeedQuery, wait time.Duration) (webhook.FeedPage, error)
}

const (
	serverKeyKey          = "realname.apikey"
	serverVerificationKey = "realname.apikey.verification"
)

type serverAPI struct {
	ServerAPI
	d       Deps
	waiting *waiters
}

// mountServerAPI registers /server/v1/: bearer API keys with scopes and an
// app, a rate per key shared by every instance, the uses recorded.
func mountServerAPI(r *gin.Engine, d Deps) {
	s := &serverAPI{ServerAPI: *d.Server, d: d, waiting: newWaiters(maxWaitersPerKey)}
	g := r.Group("/server/v1")
	g.GET("/users/:openid/verification", s.auth(apikey.ScopeVerificationsRead), s.status)
	g.POST("/users/:openid/verification/revoke", s.auth(apikey.ScopeVerificationsWrite), s.revoke)
	g.GET("/events", s.auth(apikey.ScopeEventsRead), s.events)
	g.POST("/users/:openid/stepups", s.auth(apikey.ScopeVerificationsWrite), s.createStepUp)
	g.GET("/stepups/:id", s.auth(apikey.ScopeVerificationsRead), s.stepUp)
}

// auth lets a request through with a live key holding scope, within the
// key's rate, and records the use (whatever the answer) once it is done.
// A refused request (rate, scope) is not a use: the key service counts it.
func (s *serverAPI) auth(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="realname server API"`)
			abortWithWords(c, http.StatusUnauthorized, CodeAPIKeyRequired, CodeAPIKeyRequired, "")
			return
		}
		key, err := s.Keys.Authenticate(c.Request.Context(), strings.TrimSpace(raw))
		if errors.Is(err, apikey.ErrInvalidKey) {
			c.Header("WWW-Authenticate", `Bearer realm="realname server API", error="invalid_token"`)
			abortWithWords(c, http.StatusUnauthorized, CodeInvalidAPIKey, CodeInvalidAPIKey, "")
			return
		}
		if err != nil {
			renderError(s.d.Log, c, err)
			return
		}
		var limited *apikey.LimitError
		switch err := s.Keys.Admit(c.Request.Context(), key, scope); {
		case errors.As(err, &limited):
			c.Header("Retry-After", retryAfter(max(limited.RetryAfter, time.Second)))
			abortWithWords(c, http.StatusTooManyRequests, CodeRateLimited, CodeRateLimited+".api_key", "")
			return
		case errors.Is(err, apikey.ErrScope):
			abortWithWords(c, http.StatusForbidden, CodeInsufficientScope, CodeInsufficientScope, scope)
			return
		case err != nil:
			renderError(s.d.Log, c, err)
			return
		}
		defer s.record(c, key)
		c.Set(serverKeyKey, key)
		c.Next()
	}
}

// record writes the use of a key after its answer: never the path (it
// holds an openid), the route template instead.
func (s *serverAPI) record(c *gin.Context, key apikey.Key) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 3*time.Second)
	defer cancel()
	u := apikey.Use{KeyID: key.ID, Method: methodLabel(c.Request.Method), Route: routeLabel(c), Status: c.Writer.Status(),
		RequestID: requestIDFrom(c), VerificationID: c.GetInt64(serverVerificationKey)}
	if err := s.Keys.RecordUse(ctx, u, key.LastUsedAt); err != nil {
		s.d.Log.Error("recording an API key use failed", "key", key.ID, "request_id", u.RequestID, "err", err)
	}
}

// subject reads who a request is about: the path's openid with ?appid=
// (the key's app, else the default app, when absent), or ?unionid= with
// "-" as the openid, within the key's app.
func subject(c *gin.Context) (verify.Subject, bool) {
	subj := verify.Subject{OpenID: c.Param("openid"), AppID: c.Query("appid"), UnionID: c.Query("unionid"),
		Within: serverKey(c).Within()}
	if subj.UnionID != "" && subj.OpenID == "-" {
		subj.OpenID = ""
	}
	if len(subj.OpenID) > 128 || len(subj.AppID) > 64 || len(subj.UnionID) > 128 || (subj.OpenID == "" && subj.UnionID == "") ||
		subj.OpenID == "-" {
		abortWithWords(c, http.StatusBadRequest, CodeInvalidRequest, CodeInvalidRequest+".subject", "")
		return subj, false
	}
	return subj, true
}

// serverKey is the key auth let the request through with.
func serverKey(c *gin.Context) apikey.Key {
	k, _ := c.Get(serverKeyKey)
	key, _ := k.(apikey.Key)
	return key
}

func (s *serverAPI) status(c *gin.Context) {
	subj, ok := subject(c)
	if !ok {
		return
	}
	v, err := s.Verifications.ServerStatus(c.Request.Context(), subj, s.d.DefaultAppID)
	if err != nil {
		renderError(s.d.Log, c, err)
		return
	}
	c.Set(serverVerificationKey, v.VerificationID)
	c.JSON(http.StatusOK, v)
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

func (s *serverAPI) revoke(c *gin.Context) {
	subj, ok := subject(c)
	if !ok {
		return
	}
	var req revokeRequest
	if !bindJSON(c, &req) {
		return
	}
	actor := "apikey:" + strconv.FormatInt(serverKey(c).ID, 10)
	v, err := s.Verifications.Revoke(c.Request.Context(), subj, s.d.DefaultAppID, req.Reason, actor)
	if err != nil {
		renderError(s.d.Log, c, err)
		return
	}
	c.Set(serverVerificationKey, v.VerificationID)
	c.JSON(http.StatusOK, v)
}

// eventsPage is the answer of GET /server/v1/events.
type eventsPage struct {
	Events []json.RawMessage `json:"events"`
	Next   string            `json:"next"`
}

func (s *serverAPI) events(c *gin.Context) {
	after := int64(-1) // from the oldest event kept
	if raw := c.Query("after"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || len(raw) > 19 {
			abortWithWords(c, http.StatusBadRequest, CodeInvalidCursor, CodeInvalidCursor, "")
			return
		}
		after = n
	}
	limit := webhook.FeedDefaultLimit
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > webhook.FeedMaxLimit {
			abortWithWords(c, http.StatusBadRequest, CodeInvalidRequest, CodeInvalidRequest+".limit", strconv.Itoa(webhook.FeedMaxLimit))
			return
		}
		limit = n
	}
	typ := c.Query("type")
	if typ != "" && !slices.Contains(webhook.EventTypes(), typ) {
		abortWithWords(c, http.StatusBadRequest, CodeInvalidRequest, CodeInvalidRequest+".type", strings.Join(webhook.EventTypes(), ", "))
		return
	}
	q := webhook.FeedQuery{After: after, Limit: limit, Type: typ, AppID: serverKey(c).Within()}
	var page webhook.FeedPage
	var err error
	if raw := c.Query("wait"); raw != "" {
		wait, perr := time.ParseDuration(raw)
		if perr != nil || wait < 0 || wait > webhook.FeedMaxWait || len(raw) > 16 {
			abortWithWords(c, http.StatusBadRequest, CodeInvalidRequest, CodeInvalidRequest+".wait", "")
			return
		}
		key := serverKey(c).ID
		if !s.waiting.enter(key) {
			c.Header("Retry-After", "1")
			abortWithError(c, http.StatusTooManyRequests, CodeTooManyWaiters, "this API key already has the most long-polls waiting at once; wait for one to end")
			return
		}
		defer s.waiting.leave(key)
		page, err = s.Events.FeedWait(c.Request.Context(), q, wait)
	} else {
		page, err = s.Events.Feed(c.Request.Context(), q)
	}
	if err != nil {
		renderError(s.d.Log, c, err)
		return
	}
	c.JSON(http.StatusOK, eventsPage{Events: page.Events, Next: strconv.FormatInt(page.Next, 10)})
}
