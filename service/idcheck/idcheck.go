// Package idcheck verifies that a name and a resident ID number belong
// together (二要素核验) against an authoritative source. It declares what a
// verification vendor must do (Provider), what it may answer (Outcome) and
// how its failures are told apart.
//
// Providers are tried in order by a chain built on top of this package: an
// Outcome is the source's answer and ends the chain; an error means this
// provider could not answer and the next one is asked. When nobody could
// answer, the chain reports the check as undecided — never as a guess at
// match or mismatch.
package idcheck

import (
	"context"
	"errors"
	"fmt"
)

// Outcome is what the authoritative source said about a name and number.
type Outcome string

// Outcomes. Match and Mismatch are the source's verdict; NoRecord means it
// holds no such number; InvalidID and InvalidName mean the vendor refused
// the input as malformed before asking the source.
const (
	Match       Outcome = "match"
	Mismatch    Outcome = "mismatch"
	NoRecord    Outcome = "no_record"
	InvalidID   Outcome = "invalid_id"
	InvalidName Outcome = "invalid_name"
)

// Result is one provider's answer.
type Result struct {
	Outcome  Outcome
	Provider string
	// Code is the vendor's own result code as it sent it, e.g. "0" or "-5",
	// kept for the attempt record.
	Code string
	// Charged reports whether the vendor bills this answer. Vendors bill
	// only their verdicts, so retrying a non-charged answer costs nothing.
	Charged bool
}

// Provider is one verification vendor.
type Provider interface {
	// Name is the stable identifier used in config, metrics and the
	// attempt records.
	Name() string
	// Check asks whether name and idNumber belong together. Errors wrap
	// ErrUnavailable or ErrLimit in an *Error and never quote the name or
	// the number.
	Check(ctx context.Context, name, idNumber string) (Result, error)
}

// Kinds of failure. Both mean "this provider gave no answer; ask the next
// one": neither says anything about the person.
var (
	// ErrUnavailable means the provider or its source could not answer:
	// source down or being upgraded, timeout, HTTP 5xx, a rejected key,
	// rate limiting, a request it refused or an answer we cannot read.
	ErrUnavailable = errors.New("idcheck: provider unavailable")
	// ErrLimit means the provider's daily allowance of checks is used up;
	// it will answer again tomorrow, so a breaker may stay open longer.
	ErrLimit = errors.New("idcheck: provider daily limit reached")
)

// Error is a failure of one provider, with the vendor's own code kept for
// the attempt record.
type Error struct {
	Provider string
	Kind     error  // ErrUnavailable or ErrLimit
	Code     string // the vendor's result or error code, e.g. "-7"; may be empty
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

// Is makes errors.Is(err, ErrUnavailable) and errors.Is(err, ErrLimit)
// work on an *Error.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
