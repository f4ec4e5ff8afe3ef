package ocr_test

import (
	"testing"

	"realname/service/ocr"
	"realname/testdata/idcard"
)

// BenchmarkPrepare measures intake of a sample card photo: content
// sniffing, header check and lossless metadata stripping.
func BenchmarkPrepare(b *testing.B) {
	cards, _ := idcard.Cards()
	img, err := idcard.Image(cards[0].Front)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		if _, err := prepare(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit is the per-provider-attempt check of a photo that already
// fits the vendor's limits: the end-marker fast path, no decode.
func BenchmarkFit(b *testing.B) {
	cards, _ := idcard.Cards()
	img, err := idcard.Image(cards[0].Front)
	if err != nil {
		b.Fatal(err)
	}
	photo, err := prepare(img)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ocr.Fit(photo.Data, 2_000_000, 4096); err != nil {
			b.Fatal(err)
		}
	}
}
