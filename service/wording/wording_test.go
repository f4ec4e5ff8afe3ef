package wording

import (
	"strings"
	"testing"
)

func TestFromAcceptLanguage(t *testing.T) {
	for header, want := range map[string]Lang{
		"": Chinese, "en": English, "en-US,en;q=0.9": English, "zh-CN,zh;q=0.9,en;q=0.8": Chinese,
		"zh-TW,zh;q=0.9,en;q=0.5": Chinese, "fr-FR": Chinese, "fr-FR,en;q=0.5": English, "%%%": Chinese,
		strings.Repeat("en,", 200): Chinese,
	} {
		if got := FromAcceptLanguage(header); got != want {
			t.Errorf("FromAcceptLanguage(%q) = %s, want %s", header, got, want)
		}
	}
}

// TestErrorWordsInBothLanguages: every server API error has words in both
// languages, and an unknown id has none.
func TestErrorWordsInBothLanguages(t *testing.T) {
	for id := range errorWords {
		if Error(Chinese, id) == "" || Error(English, id) == "" || Error(Chinese, id) == Error(English, id) {
			t.Errorf("%s: %q / %q", id, Error(Chinese, id), Error(English, id))
		}
	}
	if Error(Chinese, "no_such_code") != "" {
		t.Error("words for an unknown id")
	}
}
