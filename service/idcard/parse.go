package idcard

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// earliestBirth is the lower bound for birth dates: anyone born earlier
// would be over 120, so such a date is far more likely a misreading.
var earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// Parse validates a resident ID number against GB 11643-1999 as of today's
// calendar date and returns its parts.
//
// Surrounding white space is ignored and a lower-case x is accepted. An
// 18-character number must carry the right MOD 11-2 check digit. A 15-digit
// first-generation number (region, YYMMDD birth in the 1900s, sequence) is
// converted to 18 digits by inserting "19" and appending the check digit,
// and flagged Legacy.
//
// The region rule accepts a number whose six-digit code is in the embedded
// GB/T 2260 table (current and retired codes since 1980), or whose
// prefecture code (first four digits + "00") is; see regions.txt. The birth
// date must be a real date from 1900-01-01 to today inclusive.
//
// Errors wrap ErrFormat, ErrChecksum, ErrRegion or ErrBirthDate, checked in
// that order, and all satisfy errors.Is(err, ErrInvalid).
func Parse(s string, today time.Time) (Number, error) {
	// People type the number in groups, as they read it ("1101 0519 4912
	// 3100 2X"): blanks anywhere are dropped, not refused.
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	var value string
	legacy := false
	switch {
	case len(s) == 18 && allDigits(s[:17]) && (isDigit(s[17]) || s[17] == 'X' || s[17] == 'x'):
		value = s[:17] + strings.ToUpper(s[17:])
		if checkDigit(value) != value[17] {
			return Number{}, ErrChecksum
		}
	case len(s) == 15 && allDigits(s):
		body := s[:6] + "19" + s[6:]
		value = body + string(checkDigit(body))
		legacy = true
	default:
		return Number{}, fmt.Errorf("%w: want 18 characters (17 digits and a digit or X) or 15 digits, got %d characters",
			ErrFormat, utf8.RuneCountInString(s))
	}

	region := value[:6]
	if !knownRegion(region) {
		return Number{}, ErrRegion
	}
	birth, err := parseBirth(value[6:14], today)
	if err != nil {
		return Number{}, err
	}
	sex := SexFemale
	if (value[16]-'0')%2 == 1 {
		sex = SexMale
	}
	return Number{
		Value:    value,
		Region:   region,
		Province: provinceName(region),
		Birth:    birth,
		Sex:      sex,
		Legacy:   legacy,
	}, nil
}

// parseBirth checks that yyyymmdd is a real calendar date within
// [1900-01-01, today]. time.Parse rejects 30 February and the like.
func parseBirth(yyyymmdd string, today time.Time) (time.Time, error) {
	birth, err := time.Parse("20060102", yyyymmdd)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: not a calendar date", ErrBirthDate)
	}
	if birth.Before(earliestBirth) {
		return time.Time{}, fmt.Errorf("%w: before 1900", ErrBirthDate)
	}
	if birth.After(civilDate(today)) {
		return time.Time{}, fmt.Errorf("%w: in the future", ErrBirthDate)
	}
	return birth, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
