package face

import (
	"errors"
	"fmt"
)

// Kinds of failure to get a result. None is a verdict about the person.
var (
	// ErrInvalidSubject: the subject or ticket given is incomplete or
	// malformed (no openid, an empty name …); it never reached the vendor.
	ErrInvalidSubject = errors.New("face: invalid subject or ticket")
	// ErrInvalidTicket: the vendor does not know the ticket for this
	// person (expired, reused, started for another user, app or identity;
	// WeChat 84001). Start a new check.
	ErrInvalidTicket = errors.New("face: the vendor rejected the check id")
	// ErrUnavailable: the vendor could not be asked or did not answer
	// usably (transport, HTTP status, system error, rate limit, an answer
	// that cannot be read). Ask again later.
	ErrUnavailable = errors.New("face: provider unavailable")
	// ErrRefused: the vendor refused the request itself (the capability
	// not granted to the app, a parameter it rejects, a token still
	// rejected after the refresh): an integration problem, not a retry.
	ErrRefused = errors.New("face: provider refused the request")
)

// Error is a failure of one provider, with the vendor's own code kept for
// the records. Its text never quotes the subject.
type Error struct {
	Provider string
	Kind     error  // ErrInvalidSubject, ErrInvalidTicket, ErrUnavailable or ErrRefused
	Code     string // the vendor's error code, e.g. "84001"; may be empty
	Err      error  // the underlying cause, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %v", e.Provider, e.Kind)
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrInvalidTicket) and friends work on an *Error.
func (e *Error) Is(target error) bool { return errors.Is(e.Kind, target) }

// Unwrap exposes the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
