package web

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"realname/service/clock"
)

func catalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog(clock.China())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCatalogsMatch: both languages have the same messages, and every
// message a template names exists.
func TestCatalogsMatch(t *testing.T) {
	c := catalog(t)
	zh, en := c.IDs(Chinese), c.IDs(English)
	slices.Sort(zh)
	slices.Sort(en)
	for _, id := range zh {
		if _, ok := slices.BinarySearch(en, id); !ok {
			t.Errorf("%s is in zh-CN.yaml but not in en.yaml", id)
		}
	}
	for _, id := range en {
		if _, ok := slices.BinarySearch(zh, id); !ok {
			t.Errorf("%s is in en.yaml but not in zh-CN.yaml", id)
		}
	}
	used := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	dynamic := regexp.MustCompile(`\.T \(printf "([a-z_.]+)%s"`)
	expand := map[string][]string{"case.confirm_": {"approve", "reject", "resubmit"}, "queue.sla_": {"due", "overdue"},
		"apikeys.scope_": {"verifications:read", "events:read", "verifications:write"}, "apikeys.refused_": {"rate_limited", "insufficient_scope"}}
	err := fs.WalkDir(templateFiles, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templateFiles, path)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := slices.BinarySearch(zh, m[1]); !ok {
				t.Errorf("%s uses %s, which no catalog has", path, m[1])
			}
		}
		for _, m := range dynamic.FindAllStringSubmatch(string(b), -1) {
			if len(expand[m[1]]) == 0 {
				t.Errorf("%s builds ids from %s…: list the endings in this test", path, m[1])
			}
			for _, end := range expand[m[1]] {
				if _, ok := slices.BinarySearch(zh, m[1]+end); !ok {
					t.Errorf("%s uses %s%s, which no catalog has", path, m[1], end)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocalePicksTheLanguage(t *testing.T) {
	c := catalog(t)
	for _, tc := range []struct {
		prefs []string
		want  string
	}{
		{nil, "zh-CN"},
		{[]string{"", ""}, "zh-CN"},
		{[]string{"", "en-US,en;q=0.9"}, "en"},
		{[]string{"", "zh-TW,zh;q=0.9,en;q=0.5"}, "zh-CN"},
		{[]string{"", "fr-FR"}, "zh-CN"},
		{[]string{"en", "zh-CN"}, "en"},       // the account's choice wins
		{[]string{"zh-CN", "en-GB"}, "zh-CN"}, // also the other way
		{[]string{"", strings.Repeat("en,", 200)}, "zh-CN"},
		{[]string{"", "%%%"}, "zh-CN"},
	} {
		if got := c.Locale(tc.prefs...).Lang(); got != tc.want {
			t.Errorf("Locale(%q) = %s, want %s", tc.prefs, got, tc.want)
		}
	}
}

func TestTimesCarryTheirZone(t *testing.T) {
	at := time.Date(2026, 12, 1, 7, 52, 30, 0, time.UTC)
	l := catalog(t).Locale()
	if got := l.Time(at); got != "2026-12-01 15:52 (UTC+8)" {
		t.Errorf("Time = %q", got)
	}
	if got := l.Seconds(at); got != "2026-12-01 15:52:30 (UTC+8)" {
		t.Errorf("Seconds = %q", got)
	}
	if got := l.Time(time.Time{}); got != "–" {
		t.Errorf("zero time = %q", got)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCatalog(ny)
	if got := c.Locale().Time(at); got != "2026-12-01 02:52 (UTC-5)" {
		t.Errorf("New York = %q", got)
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	if got := ZoneLabel(at.In(kolkata)); got != "UTC+5:30" {
		t.Errorf("Kolkata = %q", got)
	}
	if got := ZoneLabel(at); got != "UTC" {
		t.Errorf("UTC = %q", got)
	}
}

func TestWordsForCodes(t *testing.T) {
	c := catalog(t)
	zh, en := c.Locale(), c.Locale("en")
	if zh.Code("reason", "no_record") != "权威库无记录" || en.Code("reason", "no_record") != "no official record" {
		t.Errorf("reason words: %q %q", zh.Code("reason", "no_record"), en.Code("reason", "no_record"))
	}
	if got := zh.Code("reason", "a_code_added_later"); got != "a_code_added_later" {
		t.Errorf("an unknown code shows as %q, not as itself", got)
	}
	if got := zh.Duration(3*time.Hour + 12*time.Minute); got != "3 小时 12 分钟" {
		t.Errorf("duration zh = %q", got)
	}
	if got := en.Duration(26 * time.Hour); got != "1 day 2 h" {
		t.Errorf("duration en = %q", got)
	}
	if got := en.Duration(20 * time.Second); got != "0 min" {
		t.Errorf("short duration = %q", got)
	}
	if got := zh.T("error.internal", "RequestID", "abc"); !strings.Contains(got, "abc") {
		t.Errorf("argument not filled in: %q", got)
	}
}
