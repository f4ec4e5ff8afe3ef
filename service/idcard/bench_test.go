package idcard

import (
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("11010119900514213X", today); err == nil {
			b.Fatal("bad check digit accepted")
		}
		if _, err := Parse("110101199005142138", today); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckDigit(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckDigit("11010119900514213"); err != nil {
			b.Fatal(err)
		}
	}
}
