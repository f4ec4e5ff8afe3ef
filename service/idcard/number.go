package idcard

import (
	"log/slog"
	"time"

	"realname/service/pii"
)

// The values of Number.Sex, as printed on the card.
const (
	SexMale   = "男"
	SexFemale = "女"
)

// Number is a parsed, validated resident ID number. Its String and LogValue
// methods print the masked form, so passing one to fmt or slog by mistake
// does not leak it.
type Number struct {
	// Value is the normalised 18-character number, with an upper-case X;
	// legacy 15-digit input is converted to this form.
	Value string
	// Region is the GB/T 2260 code in the first six digits: the holder's
	// household registration when the number was assigned, not where they
	// live now.
	Region string
	// Province is the name of the province-level unit of Region, such as
	// "北京市" or "广东省".
	Province string
	// Birth is the date of birth at midnight UTC; only its calendar date
	// is meaningful.
	Birth time.Time
	// Sex is SexMale or SexFemale, from the parity of the 17th digit.
	Sex string
	// Legacy reports that the input was a first-generation 15-digit number.
	Legacy bool
}

// Age is the holder's age in whole years on today's calendar date (in
// today's own location). Someone born on 29 February turns a year older on
// 1 March in common years.
func (n Number) Age(today time.Time) int {
	return yearsBetween(n.Birth, civilDate(today))
}

// Masked is the number as it may be shown: first 4 and last 4 characters,
// e.g. "1101**********1234" (see pii.MaskIDNumber).
func (n Number) Masked() string { return pii.MaskIDNumber(n.Value) }

// String returns Masked, so that %v never prints the full number.
func (n Number) String() string { return n.Masked() }

// GoString returns Masked too, closing the %#v path around String.
func (n Number) GoString() string { return n.Masked() }

// LogValue keeps the full number out of structured logs.
func (n Number) LogValue() slog.Value { return slog.StringValue(n.Masked()) }

// Place spells out the region for people reading it, e.g. "北京市东城区"
// or "广东省深圳市南山区"; it stops at the prefecture or province when the
// table does not name the exact code.
func (n Number) Place() string { return placeName(n.Region) }

// civilDate is t's calendar date, in t's own location, as midnight UTC, so
// that dates from different sources compare by day alone.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// yearsBetween counts the whole years from birth to day (both calendar
// dates): the birthday counts once its month and day are reached, which for
// 29 February in a common year means 1 March.
func yearsBetween(birth, day time.Time) int {
	years := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		years--
	}
	return years
}
