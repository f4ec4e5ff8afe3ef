package wechat

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
)

// CertTypeIDCard is the only cert_type face verification documents: the
// second-generation resident ID card of a mainland resident.
const CertTypeIDCard = "IDENTITY_CARD"

// CertInfo is getVerifyId's cert_info. Name and Number are sensitive: the
// value prints as a placeholder in fmt and slog, so a stray %v or log
// attribute cannot leak them; only its JSON, the request body, holds them.
type CertInfo struct {
	Type   string `json:"cert_type"`
	Name   string `json:"cert_name"`
	Number string `json:"cert_no"`
}

// Hash is the cert_hash queryVerifyInfo wants for this cert_info: each
// value's UTF-8 bytes in standard, padded Base64, joined as
// cert_type=…&cert_name=…&cert_no=… without URL-encoding, then SHA-256 in
// lower-case hex. The values are taken exactly as they are: the caller
// must hash what it sent, so nothing here trims or normalises. An empty
// Type is CertTypeIDCard, as GetVerifyID sends it.
func (c CertInfo) Hash() string {
	if c.Type == "" {
		c.Type = CertTypeIDCard
	}
	b64 := base64.StdEncoding.EncodeToString
	s := "cert_type=" + b64([]byte(c.Type)) + "&cert_name=" + b64([]byte(c.Name)) + "&cert_no=" + b64([]byte(c.Number))
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// String hides the personal data from fmt's %v and %s.
func (c CertInfo) String() string { return "cert_info{" + c.Type + ", [redacted]}" }

// GoString hides the personal data from fmt's %#v.
func (c CertInfo) GoString() string { return c.String() }

// LogValue hides the personal data from slog.
func (c CertInfo) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Bounds of out_seq_no, WeChat's serial number of one check.
const (
	outSeqNoMin = 5
	outSeqNoMax = 32
	// outSeqNoRandom bytes give 24 characters of unpadded URL-safe Base64,
	// all within [0-9A-Za-z_-].
	outSeqNoRandom = 18
)

// NewOutSeqNo returns a fresh out_seq_no: 24 characters of
// [0-9A-Za-z_-] from 144 random bits. WeChat wants it unique per app;
// random values keep it so across instances without coordination (a
// collision is as likely as guessing a 144-bit key) and tell nothing
// about the user or the order of checks.
func NewOutSeqNo() string {
	b := make([]byte, outSeqNoRandom)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidOutSeqNo reports whether s is a well-formed out_seq_no: 5 to 32
// characters of [0-9A-Za-z_-].
func ValidOutSeqNo(s string) bool {
	if len(s) < outSeqNoMin || len(s) > outSeqNoMax {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// validCertHash reports whether s has cert_hash's shape: 64 lower-case
// hex digits.
func validCertHash(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
