package idcard

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse checks Parse's invariants on arbitrary input: it never panics,
// every rejection is an ErrInvalid, and every accepted number is normalised,
// carries a valid check digit, re-parses to itself and, when it came from
// 15 digits, keeps them in place around the inserted "19".
//
// Random strings almost never carry a valid check digit, so each input is
// also turned into an 18-digit candidate (its first 17 digits plus the
// right check digit) and a 15-digit one, which drives the fuzzer into the
// region and birth-date rules and the accepted path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"110101199005142138", "42010619830908028X", "42010619830908028x",
		" 310104199511021247\n", "110101900514213", "310104951102124",
		"110101199005142139", "999999199005142131", "110101199002302131",
		"11010119900514213", "", "X", "１１０１０１１９９００５１４２１３８",
		"810000199001011234", "440305201003152060", "650102199306211354",
		"110103197002291234", "132101198001011234", "110199202506011234",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParse(t, s)
		digits := strings.Map(func(r rune) rune {
			if '0' <= r && r <= '9' {
				return r
			}
			return -1
		}, s)
		if len(digits) >= 17 {
			checkParse(t, digits[:17]+string(checkDigit(digits[:17])))
		}
		if len(digits) >= 15 {
			checkParse(t, digits[:15])
		}
	})
}

// checkParse parses s and checks every invariant of the result.
func checkParse(t *testing.T, s string) {
	n, err := Parse(s, testToday)
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Parse(%q) error %v is not an ErrInvalid", s, err)
		}
		if n != (Number{}) {
			t.Fatalf("Parse(%q) returned %+v with an error", s, n)
		}
		return
	}
	v := n.Value
	if len(v) != 18 || !allDigits(v[:17]) || (!isDigit(v[17]) && v[17] != 'X') {
		t.Fatalf("Parse(%q).Value = %q is not normalised", s, v)
	}
	if checkDigit(v[:17]) != v[17] {
		t.Fatalf("Parse(%q).Value = %q has a bad check digit", s, v)
	}
	if n.Region != v[:6] || n.Province == "" || n.Birth.Format("20060102") != v[6:14] {
		t.Fatalf("Parse(%q) = %+v disagrees with its value %q", s, n, v)
	}
	again, err := Parse(v, testToday)
	if err != nil {
		t.Fatalf("Parse(%q) accepted %q, which then fails: %v", s, v, err)
	}
	if want := (Number{n.Value, n.Region, n.Province, n.Birth, n.Sex, false}); again != want {
		t.Fatalf("re-parse of %q = %+v, want %+v", v, again, want)
	}
	// Parse drops blanks anywhere (a number typed in groups): compare with
	// the input as it reads it.
	in := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	if n.Legacy != (len(in) == 15) {
		t.Fatalf("Parse(%q).Legacy = %v", s, n.Legacy)
	}
	if n.Legacy && (v[:6] != in[:6] || v[6:8] != "19" || v[8:17] != in[6:]) {
		t.Fatalf("15-digit %q became %q", in, v)
	}
	if !n.Legacy && !strings.EqualFold(v, in) {
		t.Fatalf("Parse(%q).Value = %q changed more than the case of X", s, v)
	}
}
