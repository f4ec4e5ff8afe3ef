package idcard

import (
	"errors"
	"testing"
)

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"11010119900514213", '8'},
		{"42010619830908028", 'X'},
		{"44030520100315206", '0'},
		{"11010519491231002", 'X'}, // the example in GB 11643-1999
		{"00000000000000000", '1'},
	}
	for _, tt := range tests {
		got, err := CheckDigit(tt.body)
		if err != nil || got != tt.want {
			t.Errorf("CheckDigit(%q) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1101011990051421", "110101199005142138", "1101011990051421a", "１1010119900514213"} {
		if _, err := CheckDigit(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("CheckDigit(%q) error = %v, want ErrFormat", bad, err)
		}
	}
}

// TestCheckDigitCatchesTypos is the property the check digit exists for:
// every single-digit substitution and every adjacent transposition of
// distinct digits changes it.
func TestCheckDigitCatchesTypos(t *testing.T) {
	body := []byte("11010119900514213")
	orig := checkDigit(string(body))
	for i := range body {
		for d := byte('0'); d <= '9'; d++ {
			if d == body[i] {
				continue
			}
			b := append([]byte(nil), body...)
			b[i] = d
			if checkDigit(string(b)) == orig {
				t.Errorf("substituting %c at %d keeps the check digit", d, i)
			}
		}
		if i+1 < len(body) && body[i] != body[i+1] {
			b := append([]byte(nil), body...)
			b[i], b[i+1] = b[i+1], b[i]
			if checkDigit(string(b)) == orig {
				t.Errorf("swapping %d and %d keeps the check digit", i, i+1)
			}
		}
	}
}
