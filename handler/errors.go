package handler

import (
	"time"

	"github.com/gin-gonic/gin"
)

// Stable error codes of the JSON error shape. Clients branch on these, so a
// code is never renamed; a new cause gets a new code.
const (
	CodeMalformedJSON        = "malformed_json"
	CodeUnknownField         = "unknown_field"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInternal             = "internal_error"
	CodeUnavailable          = "service_unavailable"
	CodeUnauthorized         = "unauthorized"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable code, a human message that never holds
// personal data, and the request id to quote to support.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Attempts lists the providers tried, when an upstream failure is why.
	Attempts any `json:"attempts,omitempty"`
	// Fields names what a confirm_correction is about: id_number, birth, sex.
	Fields []string `json:"fields,omitempty"`
	// NextAction and RetryAt say what the user can do, as in a status
	// answer: confirm after confirm_correction, wait_until RetryAt (China
	// time) after a daily limit.
	NextAction string     `json:"next_action,omitempty"`
	RetryAt    *time.Time `json:"retry_at,omitempty"`
}

// abortWithError ends the request with the JSON error shape; message is
// the English words, answered when the caller prefers English or the
// code has no Chinese words.
func abortWithError(c *gin.Context, status int, code, message string) {
	abortWithMessage(c, status, code, errorMessage(c, code, message))
}

// abortWithMessage ends the request with the JSON error shape and message
// as it is, already in the request's language.
func abortWithMessage(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{
		Code:      code,
		Message:   message,
		RequestID: requestIDFrom(c),
	}})
}
