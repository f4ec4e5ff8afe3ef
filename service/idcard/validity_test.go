package idcard

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestCheckValidity(t *testing.T) {
	today := day(t, "2025-06-01")
	tests := []struct {
		name     string
		from, to string
		longTerm bool
		birth    string
		want     []string
	}{
		{"20 years at 26", "2016-08-20", "2036-08-20", false, "1990-05-14", nil},
		{"10 years at 23", "2019-03-11", "2029-03-11", false, "1995-11-02", nil},
		{"5 years at 14", "2024-07-01", "2029-07-01", false, "2010-03-15", nil},
		{"long term at 54", "2012-06-05", "", true, "1958-02-27", nil},
		{"long term as text", "2012-06-05", "长期", false, "1958-02-27", nil},
		{"expired", "2012-05-20", "2022-05-20", false, "1992-04-30", []string{WarnCardExpired}},
		{"last valid day", "2005-06-01", "2025-06-01", false, "1975-01-01", nil},
		{"expired yesterday", "2005-05-31", "2025-05-31", false, "1975-01-01", []string{WarnCardExpired}},
		{"not started", "2025-06-02", "2045-06-02", false, "1990-01-01", []string{WarnValidityNotStarted}},
		{"end before start", "2020-01-01", "2019-01-01", false, "1990-01-01",
			[]string{WarnCardExpired, WarnValiditySpanImplausible}},
		{"end equals start", "2020-01-01", "2020-01-01", false, "1990-01-01",
			[]string{WarnCardExpired, WarnValiditySpanImplausible}},
		{"issued before birth", "2020-01-01", "2025-01-01", false, "2021-01-01",
			[]string{WarnCardExpired, WarnValiditySpanImplausible}},
		{"10 years at 14", "2024-07-01", "2034-07-01", false, "2010-03-15", []string{WarnValiditySpanImplausible}},
		{"20 years at 23", "2019-03-11", "2039-03-11", false, "1995-11-02", []string{WarnValiditySpanImplausible}},
		{"10 years at 30", "2020-01-01", "2030-01-01", false, "1990-01-01", []string{WarnValiditySpanImplausible}},
		{"20 years at 50", "2020-01-01", "2040-01-01", false, "1970-01-01", []string{WarnValiditySpanImplausible}},
		{"long term at 40", "2020-01-01", "", true, "1980-01-01", []string{WarnValiditySpanImplausible}},
		{"one day over", "2016-08-20", "2036-08-21", false, "1990-05-14", []string{WarnValiditySpanImplausible}},
		{"one day short", "2016-08-20", "2036-08-19", false, "1990-05-14", []string{WarnValiditySpanImplausible}},
		// Boundaries: the age that counts is the one on the start date, or
		// up to issueLag months earlier when the application was made.
		{"16 on start day", "2024-07-01", "2034-07-01", false, "2008-07-01", nil},
		{"applied at 15", "2024-07-01", "2029-07-01", false, "2008-06-01", nil},
		{"applied at 15 long ago", "2024-07-01", "2029-07-01", false, "2008-01-01", []string{WarnValiditySpanImplausible}},
		{"26 on start day", "2016-01-10", "2036-01-10", false, "1990-01-10", nil},
		{"25 on start day", "2016-01-09", "2026-01-09", false, "1990-01-10", nil},
		{"46 on start day", "2016-01-10", "", true, "1970-01-10", nil},
		{"applied at 45", "2016-01-10", "2036-01-10", false, "1970-01-01", nil},
		// 29 February: the anniversary may be printed either side.
		{"leap to leap", "2016-02-29", "2036-02-29", false, "1990-01-01", nil},
		{"leap to 28th", "2016-02-29", "2036-02-28", false, "1990-01-01", nil},
		{"leap to 1 March", "2016-02-29", "2036-03-01", false, "1990-01-01", nil},
		{"leap to common 28th", "2020-02-29", "2030-02-28", false, "2000-01-01", nil},
		{"leap to common 1 March", "2020-02-29", "2030-03-01", false, "2000-01-01", nil},
		{"leap two days off", "2016-02-29", "2036-03-02", false, "1990-01-01", []string{WarnValiditySpanImplausible}},
		{"no birth, no span rule", "2020-01-01", "2021-01-01", false, "", []string{WarnCardExpired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var birth time.Time
			if tt.birth != "" {
				birth = day(t, tt.birth)
			}
			v, err := CheckValidity(tt.from, tt.to, tt.longTerm, birth, today)
			if err != nil {
				t.Fatalf("CheckValidity: %v", err)
			}
			if !slices.Equal(v.Warnings, tt.want) {
				t.Errorf("warnings = %q, want %q", v.Warnings, tt.want)
			}
			if !v.From.Equal(day(t, tt.from)) {
				t.Errorf("From = %v", v.From)
			}
			if wantLong := tt.longTerm || tt.to == LongTermText; v.LongTerm != wantLong || v.LongTerm != v.To.IsZero() {
				t.Errorf("LongTerm = %v, To = %v", v.LongTerm, v.To)
			}
		})
	}
}

func TestCheckValidityBadDates(t *testing.T) {
	birth := day(t, "1990-01-01")
	tests := []struct {
		from, to string
		longTerm bool
	}{
		{"", "2030-01-01", false},
		{"2020/01/01", "2030-01-01", false},
		{"2020.01.01", "2030.01.01", false},
		{"20200101", "20300101", false},
		{"2020-02-30", "2030-02-28", false},
		{"2020-01-01", "", false},
		{"2020-01-01", "long", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if v, err := CheckValidity(tt.from, tt.to, tt.longTerm, birth, testToday); !errors.Is(err, ErrValidityDate) {
			t.Errorf("CheckValidity(%q, %q, %v) = %+v, %v; want ErrValidityDate", tt.from, tt.to, tt.longTerm, v, err)
		}
	}
	// A long-term card needs no end date at all.
	if _, err := CheckValidity("2012-06-05", "", true, birth, testToday); err != nil {
		t.Errorf("long-term card without end date: %v", err)
	}
}

func TestCheckValidityUsesTodaysLocation(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	today := time.Date(2025, 6, 2, 0, 30, 0, 0, cst) // 1 June in UTC
	v, err := CheckValidity("2005-06-01", "2025-06-01", false, day(t, "1975-01-01"), today)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Warnings, []string{WarnCardExpired}) {
		t.Errorf("warnings = %q, want card_expired on 2 June Beijing time", v.Warnings)
	}
}
