// Package idcard ships synthetic Chinese resident ID card images and the
// facts printed on them, so protocol fakes (WeChat OCR, OCR vendors, the
// name+ID check) can answer consistently in tests, benchmarks and sandbox
// mode without any real person's data.
//
// Every person is invented; ID numbers are structurally valid (real county
// codes, MOD 11-2 check digit) so that production validation accepts them.
// The images carry pinyin rather than Chinese text because only an ASCII
// bitmap font is available to the generator; fakes look cards up by image
// hash, never by reading the pixels.
//
// The fixtures are produced by ./gen; regenerate with
//
//	go run ./sandbox/cardgen
package idcard

import (
	"bytes"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"path"
)

// files holds the fixtures. not_a_card.png is named explicitly so the build
// breaks if it goes missing, rather than NotACard failing at run time.
//
//go:embed cards.json not_a_card.png *.png
var files embed.FS

// Card describes one synthetic card: what an OCR service would read from it
// and what an authoritative identity check would answer. Dates are
// YYYY-MM-DD strings, exactly as the fixture stores them, so fakes can echo
// them in each vendor's own format without a lossy round trip.
type Card struct {
	// Key is a stable slug naming the scenario the card exists for
	// ("male", "expired", "mismatch", ...); tests select cards by it.
	Key string `json:"key"`
	// Front is the file name of the portrait side, for use with Image.
	Front string `json:"front"`
	// Back is the file name of the emblem side, for use with Image.
	Back string `json:"back"`
	// Name is the invented holder name in Chinese, as OCR would return it.
	Name string `json:"name"`
	// IDNumber is the 18-character number; it passes the GB 11643-1999
	// checksum so code under test cannot reject it as malformed.
	IDNumber string `json:"id_number"`
	// Sex is "男" or "女" and agrees with the parity of the sequence digits.
	Sex string `json:"sex"`
	// Ethnicity is the 民族 field without the 族 suffix, as printed.
	Ethnicity string `json:"ethnicity"`
	// Birth agrees with digits 7-14 of IDNumber.
	Birth string `json:"birth"`
	// Address is an invented street address in Chinese.
	Address string `json:"address"`
	// Authority is the issuing public security bureau printed on the back.
	Authority string `json:"authority"`
	// ValidFrom is the first day of validity.
	ValidFrom string `json:"valid_from"`
	// ValidTo is the last day of validity, or "长期" for cards that never
	// expire, which is why it is not a date type.
	ValidTo string `json:"valid_to"`
	// Check is what a name+ID verification service answers for this card:
	// "match", "mismatch" or "no_record".
	Check string `json:"check"`
}

// Cards parses the embedded description on every call and returns a fresh
// slice, so callers may modify the result without affecting other tests.
func Cards() ([]Card, error) {
	data, err := files.ReadFile("cards.json")
	if err != nil {
		return nil, fmt.Errorf("idcard: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// Unknown fields mean the generator and this struct drifted apart.
	dec.DisallowUnknownFields()
	var cards []Card
	if err := dec.Decode(&cards); err != nil {
		return nil, fmt.Errorf("idcard: parse cards.json: %w", err)
	}
	return cards, nil
}

// Image returns the bytes of an embedded image such as Card.Front. It
// accepts only PNG names so that a typo cannot silently hand back the JSON.
// The returned slice is a copy and safe to modify.
func Image(name string) ([]byte, error) {
	if path.Ext(name) != ".png" {
		return nil, fmt.Errorf("idcard: %q is not an image name", name)
	}
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("idcard: %w", err)
	}
	return data, nil
}

// NotACard returns a PNG landscape for the negative path: an OCR fake
// should reject it as not an ID card. It cannot fail because the file is
// embedded by name; the returned slice is a copy.
func NotACard() []byte {
	data, err := files.ReadFile("not_a_card.png")
	if err != nil {
		panic("idcard: embedded not_a_card.png missing: " + err.Error())
	}
	return data
}

// PNGClaiming returns a 1×1 PNG whose header announces w×h pixels, with a
// valid header checksum: the shape of a decompression bomb, for tests that
// intake refuses it from the header alone rather than allocate for it.
func PNGClaiming(w, h uint32) []byte { return PNGClaimingAs(w, h, 8, 0) }

// PNGClaimingAs is PNGClaiming with the header's bit depth and colour type
// too (16 and 6: 16-bit RGBA, 8 bytes a pixel once decoded).
func PNGClaimingAs(w, h uint32, depth, colorType byte) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic("idcard: encode a 1x1 PNG: " + err.Error())
	}
	data := buf.Bytes()
	// 8-byte signature, then the IHDR chunk: length(4) "IHDR"(4) width(4)
	// height(4) 5 more bytes, CRC over type and data.
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	data[24], data[25] = depth, colorType
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}
