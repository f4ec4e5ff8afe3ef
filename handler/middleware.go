package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "request_id"

// requestID takes a sane X-Request-ID from the caller (a gateway's id ties
// our logs to theirs) or makes one, and echoes it in the answer.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func requestIDFrom(c *gin.Context) string { return c.GetString(requestIDKey) }

// accessLog writes one line per request. It logs the route template, never
// the raw path or query, which can carry openids or ID numbers.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("request_id", requestIDFrom(c)),
			slog.String("method", methodLabel(c.Request.Method)),
			slog.String("route", routeLabel(c)),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
		)
	}
}

// recovery turns a panic into the JSON error shape and a logged stack, so a
// bug in one handler never kills the process or shows a Go trace to a client.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec)
			}
			log.Error("panic serving request",
				"request_id", requestIDFrom(c), "route", c.FullPath(),
				"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
			} else {
				c.Abort()
			}
		}()
		c.Next()
	}
}

// bodyLimit caps request bodies: maxUpload for multipart uploads, maxBody for
// everything else. A declared length over the cap is refused before reading.
func bodyLimit(maxBody, maxUpload int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := maxBody
		if strings.HasPrefix(c.ContentType(), "multipart/") {
			limit = maxUpload
		}
		if c.Request.ContentLength > limit {
			abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// deadline gives every request a context deadline that flows into each store
// and upstream call it makes.
func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
