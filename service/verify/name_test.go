package verify

import (
	"errors"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"林浩然":         "林浩然",
		" 林浩然　":       "林浩然",
		"艾力·吐尔逊":      "艾力·吐尔逊",
		"艾力.吐尔逊":      "艾力·吐尔逊",
		"艾力・吐尔逊":      "艾力·吐尔逊",
		"艾力•吐尔逊":      "艾力·吐尔逊",
		"艾力‧吐尔逊":      "艾力·吐尔逊",
		"艾力 . 吐尔逊":    "艾力·吐尔逊",
		"艾力 吐尔逊":      "艾力·吐尔逊",
		"艾力··吐尔逊":     "艾力·吐尔逊",
		"阿依古丽·买买提·艾力": "阿依古丽·买买提·艾力",
		"𠮷野":          "𠮷野",
		// Unicode blanks NFKC makes a space: the space rule between
		// ideographs, trimmed at the ends.
		"艾力\u3000吐尔逊":           "艾力·吐尔逊",
		"艾力\u00a0吐尔逊":           "艾力·吐尔逊",
		"艾力\u2002\u2009吐尔逊":     "艾力·吐尔逊",
		"\u3000\u00a0林浩然\u202f": "林浩然",
		// Full- and half-width dots and the Greek ano teleia.
		"艾力．吐尔逊":      "艾力·吐尔逊",
		"艾力･吐尔逊":      "艾力·吐尔逊",
		"艾力\u0387吐尔逊": "艾力·吐尔逊",
		// Look-alikes NFKC maps to the ideograph they show: Kangxi
		// radicals, a CJK radical with a mapping, compatibility ideographs.
		"\u2F4A\u2F65": "木田",  // ⽊⽥
		"王\u2E9F":      "王母",  // ⺟
		"\uF9DC浩然":     "隆浩然", // 隆 (compatibility)
		"\U0002F80F明":  "兔明",  // 兔 (compatibility supplement)
		"王\u32A4":      "王上",  // ㊤, a circled ideograph
		"\uFA11本":      "﨑本",  // a unified ideograph in the compatibility block
	} {
		got, err := normalizeName(in)
		if err != nil || got != want {
			t.Errorf("%q → %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "林\u3164", "\u3164\u3164", "林\u200b浩然", "林浩然1", "·林浩然", "林浩然·", "林\x00然", "林\n然", "\xff\xfe",
		"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一",
		// Blanks NFKC does not make a space, inside a name.
		"林\t浩然", "林\u2028浩然", "林\u1680浩然", "林\ufeff浩然", "林\u2800浩然",
		// Radicals and strokes with no mapping, 〇, ideographic marks.
		"王\u2E8C", "王\u31D0", "王〇", "王々", "林\u303B",
		// Characters NFKC spells as several.
		"王\u337F", "\u3231王",
		// Other scripts, alone or mixed with Han, in any width.
		"John Smith", "ＪＯＨＮ", "林John", "Иван", "林Иван", "Αλέξης", "김민준", "林민준", "さくら", "サクラ", "林ｻｸﾗ",
		"Ahmet·Ali", "艾力·Tursun", "艾力 Tursun",
		// Combining marks and variation selectors after an ideograph.
		"林\u0301浩然", "葛\U000E0100城", "林\uFE00浩然",
	} {
		if got, err := normalizeName(in); !errors.Is(err, ErrNameInvalid) {
			t.Errorf("%q → %q %v, want name_invalid", in, got, err)
		}
	}
}
