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
	} {
		got, err := normalizeName(in)
		if err != nil || got != want {
			t.Errorf("%q → %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "林\u3164", "\u3164\u3164", "林\u200b浩然", "林浩然1", "·林浩然", "林浩然·", "林\x00然", "林\n然", "\xff\xfe",
		"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一"} {
		if got, err := normalizeName(in); !errors.Is(err, ErrNameInvalid) {
			t.Errorf("%q → %q %v, want name_invalid", in, got, err)
		}
	}
}
