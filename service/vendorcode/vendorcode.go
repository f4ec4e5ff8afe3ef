// Package vendorcode decodes the numeric codes in upstream JSON answers
// (WeChat's errcode, the OCR and name/ID check vendors' status and result
// codes), which documents print as numbers but gateways, and at least one
// copy of WeChat's own document, send as strings.
package vendorcode

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// ErrNotNumeric is a code that is neither a JSON integer nor a string
// holding one. Its text never quotes the input, which could be anything.
var ErrNotNumeric = errors.New("vendorcode: code is not an integer or a string holding one")

// Code is a numeric code in a vendor's answer. It decodes from a JSON
// integer (0, -1, 40001) or a string holding one ("0", " -1 "), so an
// answer that quotes its code means what its document says; any other
// string, a fraction, a bool or an object is ErrNotNumeric, so an answer
// without a readable code is never taken for success. JSON null leaves
// the Code as it was (use *Code to tell a missing code from 0).
type Code int64

// UnmarshalJSON implements json.Unmarshaler.
func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		unq, err := strconv.Unquote(s)
		if err != nil {
			return ErrNotNumeric
		}
		s = strings.TrimSpace(unq)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return ErrNotNumeric
	}
	*c = Code(v)
	return nil
}

// String gives the code in decimal, as attempt records and errors show it.
func (c Code) String() string { return strconv.FormatInt(int64(c), 10) }
