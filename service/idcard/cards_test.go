package idcard

import (
	"slices"
	"testing"

	fixtures "realname/testdata/idcard"
)

// TestSampleCards runs every rule over the synthetic cards the sandbox
// fakes serve, so the fixtures and the rules cannot drift apart.
func TestSampleCards(t *testing.T) {
	// The fixtures' own reference day, so the card expiring in 2027 is
	// still valid and the 2022 one is not.
	today := day(t, "2026-11-23")
	cards, err := fixtures.Cards()
	if err != nil {
		t.Fatal(err)
	}
	sawExpired := false
	for _, c := range cards {
		t.Run(c.Key, func(t *testing.T) {
			n, err := Parse(c.IDNumber, today)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n.Value != c.IDNumber || n.Sex != c.Sex || n.Birth.Format("2006-01-02") != c.Birth || n.Legacy {
				t.Errorf("Parse = %+v (birth %s), card says sex %s birth %s", n, n.Birth, c.Sex, c.Birth)
			}
			if n.Province == "" || n.Place() == n.Province {
				t.Errorf("region %s: province %q, place %q; want the county named", n.Region, n.Province, n.Place())
			}
			if w := CrossCheck(n, c.Birth, c.Sex); w != nil {
				t.Errorf("CrossCheck = %q", w)
			}
			v, err := CheckValidity(c.ValidFrom, c.ValidTo, false, n.Birth, today)
			if err != nil {
				t.Fatalf("CheckValidity: %v", err)
			}
			var want []string
			if c.Key == "expired" {
				sawExpired = true
				want = []string{WarnCardExpired}
			}
			if !slices.Equal(v.Warnings, want) {
				t.Errorf("CheckValidity(%s, %s) warnings = %q, want %q", c.ValidFrom, c.ValidTo, v.Warnings, want)
			}
		})
	}
	if !sawExpired {
		t.Error("no card with key \"expired\" in the fixtures")
	}
}
