package pii

import "testing"

func BenchmarkMaskIDNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = MaskIDNumber("110101199005142138")
	}
}

func BenchmarkMaskName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = MaskName("艾力·吐尔逊")
	}
}

func BenchmarkHashIDNumber(b *testing.B) {
	spec, _ := GenerateKeySpec()
	ring, err := ParseKeyRing(spec)
	if err != nil {
		b.Fatal(err)
	}
	v := []byte("110101199005142138")
	b.ReportAllocs()
	for b.Loop() {
		_ = ring.Hash(PurposeIDNumber, v)
	}
}
