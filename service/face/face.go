// Package face declares what a face verification vendor (人脸核身) must do
// for the verification flow: start a check for a person and read its
// result. WeChat's face verification 2.0 is the one implemented now
// (realname/service/wechat); a cloud vendor for Mini Programs that WeChat
// does not grant the capability can be added behind the same Provider
// without touching the flow.
//
// A provider answers a verdict only as a Result; every failure to get one
// (the vendor unreachable, a refused or unknown ticket, a misconfigured
// app) is an error, never an Outcome, so no error can be taken for a
// decision about the person.
package face

import (
	"context"
	"time"
)

// Subject is the person a check is about, as the flow confirmed them. Name
// and IDNumber are sensitive personal information: providers send them to
// the vendor and nowhere else, and never quote them in errors or logs.
type Subject struct {
	AppID    string // the Mini Program the user runs the check in
	OpenID   string // the user, within AppID
	Name     string // as on the card, exactly as it will be sent again for Result
	IDNumber string // the 18-character resident ID number
}

// Ticket is what Start hands back for the Mini Program (VerifyID) and what
// the flow keeps to ask for the result. It holds no personal data: Result
// is given the Subject again rather than reading it, or a digest of it,
// from the ticket, because a digest of a name and an ID number can be
// reversed by trying every number, so it is as sensitive as the number.
type Ticket struct {
	Provider  string    // the provider's Name, to route Result back to it
	VerifyID  string    // the vendor's id of this check, for the client side
	SeqNo     string    // our serial number of this check (WeChat's out_seq_no)
	ExpiresAt time.Time // after this no check can start with VerifyID
}

// Result is a provider's answer about one check. Code is the vendor's raw
// value (WeChat's verify_ret, e.g. "10004"), always kept, so staff see what
// the vendor said even where Outcome is OutcomeFailed for a value nobody
// knew.
type Result struct {
	Provider string
	Outcome  Outcome
	Cause    Cause  // why a check did not finish; CauseNone otherwise
	Code     string // the vendor's raw result code
}

// Passed reports whether the result proves the person: only OutcomePassed.
func (r Result) Passed() bool { return r.Outcome == OutcomePassed }

// Provider is one face verification vendor.
type Provider interface {
	// Name is the stable identifier used in config, metrics and the
	// records of each check.
	Name() string
	// Start opens one check of s and returns its ticket. One ticket is one
	// attempt: a retry after a cancel, an expiry or a not-finished result
	// calls Start again for a new ticket.
	Start(ctx context.Context, s Subject) (Ticket, error)
	// Result asks the vendor what became of t, started for s; s must be
	// the same person, spelled the same way, as given to Start. Errors
	// wrap ErrInvalidTicket, ErrUnavailable or ErrRefused in an *Error.
	Result(ctx context.Context, s Subject, t Ticket) (Result, error)
}
