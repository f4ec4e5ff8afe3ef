package idcard

import (
	"testing"
	"time"
)

// testToday pins "today" for every test so results never depend on the
// real clock.
var testToday = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// withCheck appends the check digit to a 17-digit body.
func withCheck(t testing.TB, body string) string {
	t.Helper()
	c, err := CheckDigit(body)
	if err != nil {
		t.Fatalf("CheckDigit(%q): %v", body, err)
	}
	return body + string(c)
}

func day(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
