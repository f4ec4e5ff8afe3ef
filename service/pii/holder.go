package pii

import (
	"strings"
	"unicode/utf8"
)

// minAddressRun is the shortest run of a note's runes, found in the
// holder's address, that is masked: shorter runs (路, 号, 街道) are common
// words, longer ones ("湖北省武汉市") say where the holder lives.
const minAddressRun = 4

// MaskHolder masks, in free text written about a case, what names its
// holder: each of names, and, for a name of three or more runes, its
// given part ("周晓梅" → "周**", and "晓梅" → "**"), and every run of at
// least four runes that is part of address (masked as MaskAddress would
// when it starts the address, else whole). Numbers are MaskText's.
func MaskHolder(s string, names []string, address string) string {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if utf8.RuneCountInString(n) < 2 {
			continue
		}
		s = strings.ReplaceAll(s, n, MaskName(n))
		if r := []rune(n); len(r) >= 3 {
			given := string(r[1:])
			s = strings.ReplaceAll(s, given, strings.Repeat("*", len(r)-1))
		}
	}
	if utf8.RuneCountInString(address) >= minAddressRun {
		s = maskAddressRuns(s, address)
	}
	return s
}

// maskAddressRuns replaces each longest run of s's runes that occurs in
// address, of at least minAddressRun runes.
func maskAddressRuns(s, address string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && strings.Contains(address, string(rs[i:j+1])) {
			j++
		}
		if j-i < minAddressRun {
			b.WriteRune(rs[i])
			i++
			continue
		}
		run := string(rs[i:j])
		if strings.HasPrefix(address, run) {
			b.WriteString(MaskAddress(run))
		} else {
			b.WriteString("****")
		}
		i = j
	}
	return b.String()
}
