// Package ocr reads Chinese resident ID cards from photos. It declares what
// a recognition vendor must do (Provider) and how its failures are told
// apart: a definitive answer about the photo goes back to the user, a
// provider failure moves on to the next vendor.
package ocr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Side is a face of the card: the front carries the holder's details and
// photo, the back the issuing authority and validity period.
type Side string

// Card sides. SideAuto asks the provider to tell which side it sees.
const (
	SideAuto  Side = ""
	SideFront Side = "front"
	SideBack  Side = "back"
)

// Request is one photo to read.
type Request struct {
	Image []byte // JPEG or PNG bytes as uploaded
	Side  Side   // the side the user says it is; SideAuto when unknown
}

// Fields are what a card says, normalised across vendors. Dates are
// YYYY-MM-DD; ValidTo is empty when LongTerm (长期) is set. Fields a side
// does not carry stay empty.
type Fields struct {
	Side      Side
	Name      string
	Sex       string // 男 or 女, as printed
	Ethnicity string // 民族 as printed, e.g. 汉
	Birth     string
	Address   string
	IDNumber  string
	Authority string // 签发机关
	ValidFrom string
	ValidTo   string
	LongTerm  bool
}

// Result is a successful recognition.
type Result struct {
	Fields
	Provider string
	Latency  time.Duration // of the call that produced it
	// Warnings are the provider's doubts about the photo (a copy, a
	// reflection, the other side than asked), as stable snake_case codes.
	Warnings []string
	// Verdict is the provider's own name/ID check of what it read, as its
	// result code, when it made one (Acedata's recognition answers carry
	// it; seed 000): confirmed as read, it stands in for a second paid check.
	Verdict string
}

// Provider is one recognition vendor.
type Provider interface {
	// Name is the stable identifier used in config (REALNAME_OCR_ORDER),
	// metrics and the attempt records.
	Name() string
	// Recognize reads req. Errors wrap one of the kinds below in an *Error.
	Recognize(ctx context.Context, req Request) (Result, error)
}

// Kinds of failure. ErrNoCard and ErrBadImage are definitive: another vendor
// would say the same about this photo, so the chain stops and the user is
// asked for a new one. ErrProvider means this vendor could not answer.
var (
	ErrNoCard   = errors.New("ocr: no ID card in the photo")
	ErrBadImage = errors.New("ocr: the image cannot be read")
	// ErrImageTooLarge is an ErrBadImage: the image would take more than
	// MaxDecodeBytes to decode.
	ErrImageTooLarge = fmt.Errorf("%w: it has more pixels than the service decodes", ErrBadImage)
	ErrProvider      = errors.New("ocr: provider failure")
)

// Error is a failure of one provider, with the vendor's own code kept for
// the attempt record.
type Error struct {
	Provider string
	Kind     error  // ErrNoCard, ErrBadImage or ErrProvider
	Code     string // the vendor's error code, e.g. "101001"; may be empty
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

// Is makes errors.Is(err, ErrNoCard) and friends work on an *Error.
func (e *Error) Is(target error) bool { return errors.Is(e.Kind, target) }

// Unwrap exposes the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Definitive reports whether err is an answer about the photo itself, which
// no other vendor would answer differently.
func Definitive(err error) bool {
	return errors.Is(err, ErrNoCard) || errors.Is(err, ErrBadImage)
}
