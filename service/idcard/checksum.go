package idcard

import "fmt"

// weights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the first
// 17 characters, as tabulated in GB 11643-1999.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChars maps the weighted sum mod 11 to the check character.
const checkChars = "10X98765432"

// CheckDigit returns the GB 11643-1999 check character ('0'-'9' or 'X') for
// the first 17 digits of an ID number. It is exported for code that builds
// synthetic numbers (sandbox, benchmarks); it fails if body is not exactly
// 17 ASCII digits.
func CheckDigit(body string) (byte, error) {
	if len(body) != 17 || !allDigits(body) {
		return 0, fmt.Errorf("%w: check digit needs 17 digits", ErrFormat)
	}
	return checkDigit(body), nil
}

// checkDigit is CheckDigit without the validation, for callers that have
// already checked body.
func checkDigit(body string) byte {
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return checkChars[sum%11]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
