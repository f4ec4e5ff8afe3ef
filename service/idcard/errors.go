package idcard

import "errors"

// ErrInvalid is the parent of every reason Parse rejects a number, so the
// flow can map them all to one response (HTTP 422 id_number_invalid) while
// logs and tests still see which rule failed.
var ErrInvalid = errors.New("idcard: invalid ID number")

// The reasons Parse rejects a number. Each satisfies errors.Is(err,
// ErrInvalid). Messages never echo the number or any part of it: it is
// personal data and errors end up in logs.
var (
	// ErrFormat means the input is not 18 characters (17 digits then a digit
	// or X) nor a 15-digit legacy number.
	ErrFormat error = invalidError("idcard: ID number is malformed")
	// ErrChecksum means the 18th character is not the MOD 11-2 check digit
	// of the first 17; almost always a typing or OCR error.
	ErrChecksum error = invalidError("idcard: ID number check digit is wrong")
	// ErrRegion means the first six digits are not a known GB/T 2260 code.
	ErrRegion error = invalidError("idcard: ID number region code is unknown")
	// ErrBirthDate means digits 7-14 are not a real date between 1900-01-01
	// and today.
	ErrBirthDate error = invalidError("idcard: ID number birth date is impossible")
)

// ErrValidityDate means a validity date on the back of the card is not a
// YYYY-MM-DD date. It is not an ErrInvalid: the number may be fine while
// the back side was misread.
var ErrValidityDate = errors.New("idcard: validity date is malformed")

// invalidError is a comparable error value whose Is reports ErrInvalid as a
// parent, so the specific sentinels can be wrapped with %w and still match
// both themselves and ErrInvalid.
type invalidError string

func (e invalidError) Error() string { return string(e) }

// Is makes errors.Is(ErrChecksum, ErrInvalid) true.
func (e invalidError) Is(target error) bool { return target == ErrInvalid }
