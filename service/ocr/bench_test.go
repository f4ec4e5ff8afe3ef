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
		if _, err := ocr.Prepare(img, ocr.IntakeLimits{}); err != nil {
			b.Fatal(err)
		}
	}
}
