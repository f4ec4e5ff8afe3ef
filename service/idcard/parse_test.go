package idcard

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in   string
		value      string
		birth, sex string
		legacy     bool
		province   string
	}{
		{"male", "110101199005142138", "110101199005142138", "1990-05-14", SexMale, false, "北京市"},
		{"female", "310104199511021247", "310104199511021247", "1995-11-02", SexFemale, false, "上海市"},
		{"upper X", "42010619830908028X", "42010619830908028X", "1983-09-08", SexFemale, false, "湖北省"},
		{"lower x", "42010619830908028x", "42010619830908028X", "1983-09-08", SexFemale, false, "湖北省"},
		{"spaces", " \t110101199005142138\n", "110101199005142138", "1990-05-14", SexMale, false, "北京市"},
		{"typed in groups", "110101 19900514 2138", "110101199005142138", "1990-05-14", SexMale, false, "北京市"},
		{"ideographic space", "110101\u3000199005142138", "110101199005142138", "1990-05-14", SexMale, false, "北京市"},
		{"legacy", "110101900514213", "110101199005142138", "1990-05-14", SexMale, true, "北京市"},
		{"legacy even", "310104951102124", "310104199511021247", "1995-11-02", SexFemale, true, "上海市"},
		{"born today", withCheck(t, "11010120250601001"), "", "2025-06-01", SexMale, false, "北京市"},
		{"born 1900-01-01", withCheck(t, "11010119000101002"), "", "1900-01-01", SexFemale, false, "北京市"},
		{"leap day", withCheck(t, "11010120000229003"), "", "2000-02-29", SexMale, false, "北京市"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.in, testToday)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tt.value
			if want == "" {
				want = tt.in
			}
			if n.Value != want || n.Region != want[:6] || n.Province != tt.province ||
				!n.Birth.Equal(day(t, tt.birth)) || n.Sex != tt.sex || n.Legacy != tt.legacy {
				t.Errorf("Parse(%q) = %+v (value %s), want value %s birth %s sex %s legacy %v province %s",
					tt.in, n, n.Value, want, tt.birth, tt.sex, tt.legacy, tt.province)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrFormat},
		{"17 digits", "11010119900514213", ErrFormat},
		{"19 digits", "1101011990051421380", ErrFormat},
		{"16 digits", "1101019005142131", ErrFormat},
		{"letter in body", "11010119900514A138", ErrFormat},
		{"X not last", "X10101199005142138", ErrFormat},
		{"legacy with X", "11010190051421X", ErrFormat},
		{"full-width digits", "１１０１０１１９９００５１４２１３８", ErrFormat},
		{"wrong check digit", "110101199005142139", ErrChecksum},
		{"X where digit due", "11010119900514213X", ErrChecksum},
		{"swapped digits", "110101199005412138", ErrChecksum},
		{"unknown region", withCheck(t, "99999919900514213"), ErrRegion},
		{"unknown prefecture", withCheck(t, "11990119900514213"), ErrRegion},
		{"province code", withCheck(t, "11000019900514213"), ErrRegion},
		{"province prefix", withCheck(t, "11000119900514213"), ErrRegion},
		{"region zero", withCheck(t, "00000019900514213"), ErrRegion},
		{"legacy unknown region", "999999900514213", ErrRegion},
		{"30 February", withCheck(t, "11010119900230213"), ErrBirthDate},
		{"29 February common year", withCheck(t, "11010119010229213"), ErrBirthDate},
		{"month 13", withCheck(t, "11010119901301213"), ErrBirthDate},
		{"day 00", withCheck(t, "11010119900500213"), ErrBirthDate},
		{"before 1900", withCheck(t, "11010118991231213"), ErrBirthDate},
		{"tomorrow", withCheck(t, "11010120250602213"), ErrBirthDate},
		{"next century", withCheck(t, "11010121000101213"), ErrBirthDate},
		{"legacy bad date", "110101900230213", ErrBirthDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.in, testToday)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %v", tt.in, n, err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if n != (Number{}) {
				t.Errorf("Parse returned %+v alongside an error", n)
			}
			if body := strings.TrimSpace(tt.in); len(body) > 6 && strings.Contains(err.Error(), body[6:]) {
				t.Errorf("error %q echoes the number", err)
			}
		})
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{ErrFormat, ErrChecksum, ErrRegion, ErrBirthDate}
	for i, a := range all {
		if !errors.Is(a, ErrInvalid) {
			t.Errorf("%v is not an ErrInvalid", a)
		}
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, i != j)
			}
		}
	}
	if errors.Is(ErrValidityDate, ErrInvalid) {
		t.Error("ErrValidityDate must not be an ErrInvalid: it is not about the number")
	}
	if wrapped := fmt.Errorf("verify: %w", fmt.Errorf("%w: detail", ErrChecksum)); !errors.Is(wrapped, ErrInvalid) {
		t.Error("a doubly wrapped ErrChecksum lost ErrInvalid")
	}
}

// TestParseUsesTodaysLocation: "today" is the caller's calendar date, not
// UTC's; a child born on 2 June in Beijing can register just after
// midnight there.
func TestParseUsesTodaysLocation(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	today := time.Date(2025, 6, 2, 0, 30, 0, 0, cst) // still 1 June in UTC
	if _, err := Parse(withCheck(t, "11010120250602001"), today); err != nil {
		t.Errorf("born today in CST: %v", err)
	}
	if _, err := Parse(withCheck(t, "11010120250603001"), today); !errors.Is(err, ErrBirthDate) {
		t.Errorf("born tomorrow in CST: %v, want ErrBirthDate", err)
	}
}

func TestAge(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		birth string
		today time.Time
		want  int
	}{
		{"1990-05-14", day(t, "2025-05-13"), 34},
		{"1990-05-14", day(t, "2025-05-14"), 35},
		{"1990-05-14", time.Date(2025, 5, 14, 0, 30, 0, 0, cst), 35},
		{"2000-02-29", day(t, "2025-02-28"), 24},
		{"2000-02-29", day(t, "2025-03-01"), 25},
		{"2000-02-29", day(t, "2024-02-29"), 24},
		{"2025-06-01", day(t, "2025-06-01"), 0},
	}
	for _, tt := range tests {
		n := Number{Birth: day(t, tt.birth)}
		if got := n.Age(tt.today); got != tt.want {
			t.Errorf("born %s, Age(%s) = %d, want %d", tt.birth, tt.today, got, tt.want)
		}
	}
}

func TestMaskedAndPrinting(t *testing.T) {
	n, err := Parse("110101199005142138", testToday)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Masked(), "1101**********2138"; got != want {
		t.Errorf("Masked() = %q, want %q", got, want)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("parsed", "id", n)
	for _, out := range []string{fmt.Sprint(n), fmt.Sprintf("%v|%+v|%#v|%s", n, n, n, n), logged.String()} {
		if strings.Contains(out, n.Value) || !strings.Contains(out, n.Masked()) {
			t.Errorf("printed form %q leaks the number or lacks the mask", out)
		}
	}
}

func TestPlace(t *testing.T) {
	tests := []struct{ in, want string }{
		{"110101199005142138", "北京市东城区"},
		{"440305198807193170", "广东省深圳市南山区"},
		{"650102199306211354", "新疆维吾尔自治区乌鲁木齐市天山区"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in, testToday)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Place(); got != tt.want {
			t.Errorf("Place() for %s = %q, want %q", n.Region, got, tt.want)
		}
	}
}
