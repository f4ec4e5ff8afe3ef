package idcard

import (
	"fmt"
	"strings"
	"time"
)

// Warning codes from CheckValidity. They are stable: the flow returns them
// to the Mini Program, which keys its messages on them.
const (
	// WarnCardExpired: the end date is before today.
	WarnCardExpired = "card_expired"
	// WarnValidityNotStarted: the start date is after today, so the dates
	// were misread or the card is not genuine.
	WarnValidityNotStarted = "validity_not_started"
	// WarnValiditySpanImplausible: the period does not match the statutory
	// term for the holder's age at issue, or does not end after it starts.
	WarnValiditySpanImplausible = "validity_span_implausible"
)

// LongTermText is what the card prints instead of an end date for holders
// who were 46 or older at issue.
const LongTermText = "长期"

// issueLag is how long before the start date the application may have been
// made. The term follows the applicant's age when they applied, while the
// card shows when it was issued, so someone who applied at 15 can hold a
// five-year card starting after their 16th birthday.
const issueLag = 3 // months

// Validity is the validity period of a card and what CheckValidity found
// wrong with it.
type Validity struct {
	// From is the first day of validity, at midnight UTC.
	From time.Time
	// To is the last day of validity, at midnight UTC; zero when LongTerm.
	To time.Time
	// LongTerm reports a 长期 card, one that never expires.
	LongTerm bool
	// Warnings lists the Warn* codes that apply, in a fixed order; nil
	// when there are none.
	Warnings []string
}

// CheckValidity checks the period printed on the back of a card: from and
// to are YYYY-MM-DD dates; to is ignored when longTerm is set, and the text
// LongTermText in to also means long-term. birth is the holder's birth date
// (Number.Birth); when zero, the span rule is skipped.
//
// The card is valid through its end date. The span must fit the holder's
// age at issue under the Resident Identity Card Law: under 16, 5 years;
// 16–25, 10 years; 26–45, 20 years; 46 and over, long-term. The end date
// must be the exact anniversary of the start date; a card starting on
// 29 February may end on 28 February or 1 March.
//
// Findings about the card are warnings, not errors, since the flow decides
// what each means; the error is only for dates that do not parse, and wraps
// ErrValidityDate.
func CheckValidity(from, to string, longTerm bool, birth, today time.Time) (Validity, error) {
	start, err := parseDate(from)
	if err != nil {
		return Validity{}, fmt.Errorf("%w: start date", ErrValidityDate)
	}
	v := Validity{From: start, LongTerm: longTerm || strings.TrimSpace(to) == LongTermText}
	if !v.LongTerm {
		if v.To, err = parseDate(to); err != nil {
			return Validity{}, fmt.Errorf("%w: end date", ErrValidityDate)
		}
	}

	day := civilDate(today)
	if !v.LongTerm && day.After(v.To) {
		v.Warnings = append(v.Warnings, WarnCardExpired)
	}
	if v.From.After(day) {
		v.Warnings = append(v.Warnings, WarnValidityNotStarted)
	}
	if !birth.IsZero() && !spanPlausible(v, civilDate(birth)) {
		v.Warnings = append(v.Warnings, WarnValiditySpanImplausible)
	}
	return v, nil
}

// spanPlausible reports whether v's term is the statutory one for the
// holder's age at the start date, or at the start date less issueLag.
func spanPlausible(v Validity, birth time.Time) bool {
	if !v.From.After(birth) || (!v.LongTerm && !v.To.After(v.From)) {
		return false
	}
	for _, applied := range []time.Time{v.From, v.From.AddDate(0, -issueLag, 0)} {
		years := termYears(yearsBetween(birth, applied))
		if v.LongTerm && years == 0 {
			return true
		}
		if !v.LongTerm && years > 0 && anniversary(v.From, years, v.To) {
			return true
		}
	}
	return false
}

// termYears is the statutory validity in years for an applicant's age, or
// 0 for long-term.
func termYears(age int) int {
	switch {
	case age < 16:
		return 5
	case age <= 25:
		return 10
	case age <= 45:
		return 20
	default:
		return 0
	}
}

// anniversary reports whether to is from plus years. Go's AddDate would
// turn 29 February into 1 March in a common year, while issuers print
// 28 February or 1 March, so either is accepted, as is a leap-year 29th.
func anniversary(from time.Time, years int, to time.Time) bool {
	y := from.Year() + years
	if from.Month() == time.February && from.Day() == 29 {
		return to.Year() == y && ((to.Month() == time.February && to.Day() >= 28) ||
			(to.Month() == time.March && to.Day() == 1))
	}
	return to.Equal(time.Date(y, from.Month(), from.Day(), 0, 0, 0, 0, time.UTC))
}

// parseDate reads a YYYY-MM-DD date as midnight UTC.
func parseDate(s string) (time.Time, error) {
	return time.Parse(time.DateOnly, strings.TrimSpace(s))
}
