package idcard

import (
	"strings"
	"time"
)

// Warning codes from CrossCheck, stable like those of CheckValidity.
const (
	// WarnBirthMismatch: the birth date printed on the front disagrees
	// with the one encoded in the number.
	WarnBirthMismatch = "birth_mismatch"
	// WarnSexMismatch: the sex printed on the front disagrees with the
	// parity of the number's 17th digit.
	WarnSexMismatch = "sex_mismatch"
)

// CrossCheck compares what OCR read from the front of the card with what
// the number encodes: birth as a YYYY-MM-DD date (zero padding optional)
// and sex as SexMale or SexFemale. A disagreement means a misread or a
// doctored card; either way the flow should not trust the photo blindly.
// An empty field was not read and is not compared; a field that does not
// parse counts as a mismatch, since it cannot confirm the number. The
// result is nil when nothing disagrees.
func CrossCheck(n Number, birth, sex string) []string {
	var warnings []string
	if birth = strings.TrimSpace(birth); birth != "" {
		d, err := time.Parse("2006-1-2", birth)
		if err != nil || !d.Equal(civilDate(n.Birth)) {
			warnings = append(warnings, WarnBirthMismatch)
		}
	}
	if sex = strings.TrimSpace(sex); sex != "" && sex != n.Sex {
		warnings = append(warnings, WarnSexMismatch)
	}
	return warnings
}
