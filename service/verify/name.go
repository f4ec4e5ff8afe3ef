package verify

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// interpunct is the separator of minority names on the card, U+00B7
// MIDDLE DOT (艾力·吐尔逊).
const interpunct = '·'

// dots are what people type for it: a full stop, the katakana middle dot
// (Japanese input), the bullet, the hyphenation point. Their full- and
// half-width forms reach this list through NFKC (．→ . and ･→ ・).
const dots = ".・•‧·"

// maxNameRunes bounds a name after normalisation; the longest names on
// resident ID cards (transliterated minority names) stay well under it.
const maxNameRunes = 40

// normalizeName gives the name as a resident ID card prints it, before
// any rule or vendor sees it, or refuses it with ErrNameInvalid; every
// refusal here costs nothing, where a vendor would charge for the check.
//
// The name is brought to NFKC first, so each character has one spelling
// whatever the input method sent: full-width letters and dots become
// ASCII, Kangxi radicals (U+2F00–U+2FDF), the two CJK radicals with a
// compatibility mapping (⺟ ⻳) and the CJK compatibility ideographs
// (U+F900–U+FAFF, U+2F800–U+2FA1F) become the ideographs they look like,
// and Unicode's spaces (U+3000 ideographic, no-break, en, em, thin …)
// become U+0020. A character NFKC spells as several (㍿ → 株式会社,
// ㈱ → (株)) stands for no one's name and is refused.
//
// After that a name is Han ideographs (Unified_Ideograph: what is still a
// radical, a stroke or 〇 after NFKC is not one) with single separators
// inside: every dot a person may type, with any spaces around it, becomes
// '·', and so do spaces alone between two ideographs (艾力 吐尔逊), where
// a separator was meant. Resident ID cards print minority names in Han
// with '·' and never in another script, so Latin, Cyrillic, Greek,
// Hangul, Kana and mixes of them with Han are refused (a foreigner's
// permanent residence card, which prints Latin, is not supported).
// Blanks at either end are trimmed; inside the name any blank NFKC does
// not make U+0020 (tabs, line breaks, zero-width or filler characters)
// is refused, as are digits, punctuation and control characters.
func normalizeName(s string) (string, error) {
	if !utf8.ValidString(s) || len(s) > 4*4*maxNameRunes {
		return "", ErrNameInvalid
	}
	for _, r := range s {
		if utf8.RuneCountInString(norm.NFKC.String(string(r))) > 1 {
			return "", ErrNameInvalid
		}
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	var b strings.Builder
	var prev rune              // last ideograph written
	sep, space := false, false // a separator or a space is pending
	for _, r := range s {
		switch {
		case strings.ContainsRune(dots, r):
			sep = true
		case r == ' ':
			space = true
		case unicode.Is(unicode.Unified_Ideograph, r):
			if prev == 0 && sep {
				return "", ErrNameInvalid // a name does not start with a separator
			}
			if prev != 0 && (sep || space) {
				b.WriteRune(interpunct)
			}
			b.WriteRune(r)
			prev, sep, space = r, false, false
		default:
			return "", ErrNameInvalid
		}
	}
	if sep || prev == 0 {
		return "", ErrNameInvalid
	}
	out := b.String()
	if utf8.RuneCountInString(out) > maxNameRunes {
		return "", ErrNameInvalid
	}
	return out, nil
}
