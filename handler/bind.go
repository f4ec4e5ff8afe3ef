package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the body into dst strictly (one object, no unknown
// fields) and answers the error itself; handlers return when it says false.
func bindJSON(c *gin.Context, dst any) bool {
	if ct := c.ContentType(); ct != "application/json" {
		abortWithError(c, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send the body as application/json")
		return false
	}
	raw, err := io.ReadAll(c.Request.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit))
		return false
	}
	if err != nil {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "the request body could not be read")
		return false
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD without a word.
	if !utf8.Valid(raw) {
		abortWithError(c, http.StatusBadRequest, CodeInvalidText, "request body is not valid UTF-8")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		if !stringsOK(reflect.ValueOf(dst)) {
			abortWithError(c, http.StatusBadRequest, CodeInvalidText, "a text field holds a NUL character")
			return false
		}
		return true
	}
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
