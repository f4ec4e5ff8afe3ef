package pii

import (
	"strings"
	"unicode/utf8"
)

// MaskIDNumber masks a resident ID number for display, keeping the length:
// 18 characters keep the first 4 and last 4 ("1101**********1234"), 15-digit
// legacy numbers the first 4 and last 3. Other lengths from 8 runes up keep
// the first 2 and last 2; anything shorter is all stars, since a couple of
// visible characters of a short value reveal too much of it.
func MaskIDNumber(s string) string {
	return string(AppendMaskIDNumber(make([]byte, 0, len(s)), s))
}

// AppendMaskIDNumber appends MaskIDNumber(s) to dst. With room in dst it
// does not allocate, for callers that mask in a loop or into a buffer they
// reuse.
func AppendMaskIDNumber(dst []byte, s string) []byte {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 18:
		return appendKeepEnds(dst, s, n, 4, 4)
	case n == 15:
		return appendKeepEnds(dst, s, n, 4, 3)
	case n < 8:
		return appendKeepEnds(dst, s, n, 0, 0)
	default:
		return appendKeepEnds(dst, s, n, 2, 2)
	}
}

// MaskName masks a personal name by keeping only its first rune and starring
// the rest, one star per rune: "张三" → "张*", "欧阳锋" → "欧**",
// "艾力·吐尔逊" → "艾*****", a single rune → "*". This is the common
// convention in Chinese apps; it does not try to recognise compound surnames
// (欧阳, 司马…), which would need a surname list and still guess wrong for
// minority names.
func MaskName(s string) string {
	return string(AppendMaskName(make([]byte, 0, len(s)), s))
}

// AppendMaskName appends MaskName(s) to dst, without allocating when dst
// has room.
func AppendMaskName(dst []byte, s string) []byte {
	n := utf8.RuneCountInString(s)
	if n <= 1 {
		return appendKeepEnds(dst, s, n, 0, 0)
	}
	return appendKeepEnds(dst, s, n, 1, 0)
}

// MaskPhone masks a phone number. A mainland mobile number (11 digits,
// optionally after "+86", "+86 " or "+86-", which is kept) shows its carrier
// prefix and last 4 digits: "138****5678". Anything else keeps only its last
// 4 runes when at least 8 runes long and is all stars otherwise.
func MaskPhone(s string) string {
	prefix, rest := "", s
	if strings.HasPrefix(s, "+86") {
		prefix, rest = s[:3], s[3:]
		if rest != "" && (rest[0] == ' ' || rest[0] == '-') {
			prefix, rest = s[:4], s[4:]
		}
	}
	if len(rest) == 11 && allDigits(rest) {
		return prefix + rest[:3] + "****" + rest[7:]
	}
	n := utf8.RuneCountInString(rest)
	if n < 8 {
		return prefix + strings.Repeat("*", n)
	}
	return prefix + keepEnds(rest, n, 0, 4)
}

// MaskAddress keeps the first 6 runes (usually province and city) and
// replaces the rest with a fixed "****", so the mask does not reveal how long
// the street address is. Addresses of 6 runes or fewer keep only half of
// their runes, or the mask would show them whole.
func MaskAddress(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return ""
	}
	keep := 6
	if n <= keep {
		keep = n / 2
	}
	i := 0
	for range keep {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "****"
}

// MaskText masks every resident ID number (18 characters: 17 digits and a
// digit or X/x; or 15-digit legacy) and mainland mobile number (1[3-9] and 9
// more digits, optionally after "86") embedded in free text, as MaskIDNumber
// and MaskPhone would. A candidate must be a whole run of ASCII digits, so
// longer numbers (order numbers, card numbers) are left alone. Text with
// nothing to mask is returned as is, without allocating.
//
// It is a single-pass byte scanner rather than a regexp: it is faster, and
// UTF-8 continuation bytes can never look like ASCII digits, so Chinese text
// around the numbers is safe to scan bytewise.
func MaskText(s string) string {
	start, end, head, tail := nextMatch(s, 0)
	if start < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	// A match is at most 18 ASCII digits and an 'X': it is masked in a
	// buffer on the stack.
	var scratch [32]byte
	last := 0
	for start >= 0 {
		b.WriteString(s[last:start])
		b.Write(appendKeepEnds(scratch[:0], s[start:end], end-start, head, tail))
		last = end
		start, end, head, tail = nextMatch(s, end)
	}
	b.WriteString(s[last:])
	return b.String()
}

// containsPII reports whether MaskText would change s, without allocating.
func containsPII(s string) bool {
	start, _, _, _ := nextMatch(s, 0)
	return start >= 0
}

// nextMatch finds the first value to mask in s at or after from: its bounds
// and how many leading and trailing characters stay visible. start is -1
// when there is none.
func nextMatch(s string, from int) (start, end, head, tail int) {
	for i := from; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if end, head, tail := classify(s, i, j); end >= 0 {
			return i, end, head, tail
		}
		i = j
	}
	return -1, 0, 0, 0
}

// classify looks at the digit run s[i:j] and returns where the value to mask
// ends and how many leading and trailing characters stay visible, or end -1
// when the run is not personal data.
func classify(s string, i, j int) (end, head, tail int) {
	switch n := j - i; {
	case n == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x'):
		return j + 1, 4, 4
	case n == 18:
		return j, 4, 4
	case n == 15:
		return j, 4, 3
	case n == 11 && isMobile(s[i:j]):
		return j, 3, 4
	case n == 13 && s[i:i+2] == "86" && isMobile(s[i+2:j]):
		return j, 5, 4
	}
	return -1, 0, 0
}

func isMobile(d string) bool { return d[0] == '1' && '3' <= d[1] && d[1] <= '9' }

// keepEnds returns s (n runes) with all but the first head and last tail
// runes replaced by '*'.
func keepEnds(s string, n, head, tail int) string {
	return string(appendKeepEnds(make([]byte, 0, len(s)), s, n, head, tail))
}

// appendKeepEnds is keepEnds appending to dst.
func appendKeepEnds(dst []byte, s string, n, head, tail int) []byte {
	i := 0
	for _, r := range s {
		if i < head || i >= n-tail {
			dst = utf8.AppendRune(dst, r)
		} else {
			dst = append(dst, '*')
		}
		i++
	}
	return dst
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
