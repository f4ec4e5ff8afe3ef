package ocr

import (
	"bytes"
	"testing"
)

// jpegTrailer is what a JPEG may carry after EOI: here the start of a ZIP,
// as when an archive is hidden behind a photo.
var jpegTrailer = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00secret.txt")

// TestStripJPEGCutsAtEOI walks a file shaped like a progressive JPEG: an
// APP0 and a COM holding FF D9 (a thumbnail's EOI), two scans whose data
// holds stuffed FF 00 and a restart marker, tables between the scans, and
// a ZIP after EOI. The copy ends at the real EOI.
func TestStripJPEGCutsAtEOI(t *testing.T) {
	seg := func(marker byte, payload ...byte) []byte {
		n := len(payload) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
	}
	var img []byte
	img = append(img, 0xFF, 0xD8)
	img = append(img, seg(0xE0, 'J', 'F', 'X', 'X', 0, 0xFF, 0xD8, 0xFF, 0xD9)...) // kept, skipped by length
	img = append(img, seg(0xC2, 8, 0, 1, 0, 1, 1, 1, 0x11, 0)...)
	img = append(img, seg(0xDA, 1, 1, 0, 0, 0x3F, 0)...)
	img = append(img, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56)
	img = append(img, seg(0xC4, 0, 1, 2, 3)...) // a table between the scans
	img = append(img, seg(0xDA, 1, 1, 0, 1, 0x3F, 0)...)
	img = append(img, 0x78, 0xFF, 0x00, 0xFF, 0xFF) // fill before EOI
	img = append(img, 0xFF, 0xD9)
	withCOM := append(append(append([]byte{}, img[:2]...), seg(0xFE, 0xFF, 0xD9)...), img[2:]...)
	out, _, err := stripJPEG(append(append([]byte{}, withCOM...), jpegTrailer...))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, img) {
		t.Fatalf("got\n% x\nwant\n% x", out, img)
	}
	for name, bad := range map[string][]byte{
		"cut in the scan":   img[:len(img)-3],
		"EOI before a scan": {0xFF, 0xD8, 0xFF, 0xD9},
	} {
		if out, _, err := stripJPEG(bad); err == nil {
			t.Errorf("%s: accepted as % x", name, out)
		}
	}
}
