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

func BenchmarkAppendMaskIDNumber(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMaskIDNumber(buf[:0], "110101199005142138")
	}
}

// TestAppendMasksDoNotAllocate: the Append variants are the masking hot
// path's zero-allocation form.
func TestAppendMasksDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"id", func() { buf = AppendMaskIDNumber(buf[:0], "110101199005142138") }, "1101**********2138"},
		{"name", func() { buf = AppendMaskName(buf[:0], "艾力·吐尔逊") }, "艾*****"},
	} {
		tc.fn()
		if string(buf) != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, buf, tc.want)
		}
		if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", tc.name, n)
		}
	}
}
