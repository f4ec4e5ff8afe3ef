package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the body into dst strictly (one object, no unknown
// fields) and answers the error itself; handlers return when it says false.
func bindJSON(c *gin.Context, dst any) bool {
	if ct := c.ContentType(); ct != "application/json" {
		abortWithError(c, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send the body as application/json")
		return false
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit))
	case errors.Is(err, io.EOF):
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "request body is not valid JSON")
	case errors.As(err, &typeErr):
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, fmt.Sprintf("field %q has the wrong type", typeErr.Field))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		// encoding/json has no typed error for this one.
		abortWithError(c, http.StatusBadRequest, CodeUnknownField, strings.TrimPrefix(err.Error(), "json: "))
	default:
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "request body is not a single JSON object")
	}
	return false
}
