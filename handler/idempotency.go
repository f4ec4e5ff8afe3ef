package handler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"realname/service/idempotency"
)

// Idempotency remembers answers by Idempotency-Key (idempotency.Store).
type Idempotency interface {
	Fingerprint(parts ...[]byte) string
	Begin(ctx context.Context, scope, key, fingerprint string) (*idempotency.Response, error)
	Finish(ctx context.Context, scope, key, fingerprint string, r idempotency.Response) error
	Abandon(ctx context.Context, scope, key string) error
	Erase(ctx context.Context, scope string) error
}

// teeWriter keeps a copy of the answer for replays.
type teeWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// idempotent replays the first answer to a POST sent again with the same
// Idempotency-Key by the same user, so a retry never pays a vendor twice.
// Answers of 5xx are not kept: the retry runs for real.
func idempotent(store Idempotency) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader("Idempotency-Key")
		if key == "" || store == nil {
			c.Next()
			return
		}
		if len(key) > 128 {
			abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "Idempotency-Key is longer than 128 characters")
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is too large")
				return
			}
			abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "could not read the request body")
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		scope := strconv.FormatInt(caller(c).ID, 10)
		fp := store.Fingerprint([]byte(c.Request.Method), []byte(c.FullPath()), []byte(c.ContentType()), canonicalBody(c.GetHeader("Content-Type"), body))
		prev, err := store.Begin(c.Request.Context(), scope, key, fp)
		switch {
		case errors.Is(err, idempotency.ErrInProgress):
			abortWithError(c, http.StatusConflict, CodeIdempotencyInProgress, "a request with this Idempotency-Key is still running")
			return
		case errors.Is(err, idempotency.ErrErased):
			abortWithError(c, http.StatusConflict, CodeIdempotencyKeyErased, "the answer of this Idempotency-Key was erased with the user's data; send the request with a new key")
			return
		case errors.Is(err, idempotency.ErrKeyReused):
			abortWithError(c, http.StatusUnprocessableEntity, CodeIdempotencyKeyReused, "this Idempotency-Key was used for a different request")
			return
		case err != nil:
			abortWithError(c, http.StatusServiceUnavailable, CodeUnavailable, "idempotency store unavailable; retry later")
			return
		case prev != nil:
			c.Header("Idempotent-Replayed", "true")
			c.Data(prev.Status, "application/json; charset=utf-8", prev.Body)
			c.Abort()
			return
		}
		tw := &teeWriter{ResponseWriter: c.Writer}
		c.Writer = tw
		c.Next()
		ctx := context.WithoutCancel(c.Request.Context())
		if status := tw.Status(); status >= 500 {
			_ = store.Abandon(ctx, scope, key)
		} else {
			body := tw.buf.Bytes()
			if len(body) == 0 {
				body = []byte("null")
			}
			_ = store.Finish(ctx, scope, key, fp, idempotency.Response{Status: status, Body: body})
		}
	}
}

// canonicalBody is what a request's fingerprint covers: for JSON the
// decoded value (field order and spacing aside); for a multipart form each
// part's name with its value, or the SHA-256 of a file's content, in name
// order, never the boundary, so wx.uploadFile's retry (a new boundary, the
// same file) is the same request; anything else as sent.
func canonicalBody(contentType string, body []byte) []byte {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return body
	}
	switch mediaType {
	case "application/json":
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return body
		}
		out, err := json.Marshal(v) // map keys sorted
		if err != nil {
			return body
		}
		return out
	case "multipart/form-data":
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		var parts []string
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return body // not a form the handler will take either
			}
			h := sha256.New()
			_, _ = io.Copy(h, p)
			kind := "value"
			if p.FileName() != "" {
				kind = "file"
			}
			parts = append(parts, fmt.Sprintf("%q %s %x", p.FormName(), kind, h.Sum(nil)))
		}
		sort.Strings(parts)
		return []byte(strings.Join(parts, "\n"))
	}
	return body
}
