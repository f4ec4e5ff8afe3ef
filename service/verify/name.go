package verify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// interpunct is the separator of minority and foreign names on the card,
// U+00B7 MIDDLE DOT.
const interpunct = '·'

// dots are what people type for it: a full stop, the katakana middle dot
// (Japanese input), the bullet, the hyphenation point, their full- and
// half-width forms.
const dots = ".・•‧･．·"

// blankLetters are characters Unicode calls letters that show as nothing
// (Hangul fillers): a name made of them looks empty or hides a padding.
var blankLetters = map[rune]bool{0x115F: true, 0x1160: true, 0x3164: true, 0xFFA0: true}

// normalizeName gives the name as the card prints it, before any rule
// or vendor sees it: every dot a person may type, with any spaces around
// it, becomes '·'; so do spaces between two Han characters (艾力 吐尔逊),
// where a separator was meant. It refuses (ErrNameInvalid) anything but
// 1–40 letters and single separators inside the name: digits, control,
// zero-width and blank characters.
func normalizeName(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u3000", " "))
	if s == "" || !utf8.ValidString(s) {
		return "", ErrNameInvalid
	}
	var b strings.Builder
	var prev rune              // last letter written
	sep, space := false, false // a separator or a space is pending
	for _, r := range s {
		switch {
		case strings.ContainsRune(dots, r):
			sep = true
		case r == ' ':
			space = true
		case unicode.IsLetter(r) && !blankLetters[r]:
			if prev != 0 && (sep || space && unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, r)) {
				b.WriteRune(interpunct)
			} else if prev != 0 && space {
				b.WriteRune(' ')
			} else if prev == 0 && sep {
				return "", ErrNameInvalid // a name does not start with a separator
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
	if n := utf8.RuneCountInString(out); n > 40 {
		return "", ErrNameInvalid
	}
	return out, nil
}
