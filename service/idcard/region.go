package idcard

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// regionsTxt is the GB/T 2260 table. It holds every code assigned from 1980
// to the November 2025 revision: 6772 rows, of which 3221 are current (34
// province-level, 333 prefecture-level plus 9 placeholder rows such as
// "市辖区", and 2845 county-level) and 3551 retired. Retired codes stay
// because numbers keep the code they were issued under. See the file's
// header for its source and format.
//
//go:embed regions.txt
var regionsTxt string

// region is one row of the table.
type region struct {
	name    string
	retired bool // the code is no longer assigned, but cards still carry it
	// divided is set on province-level rows that have rows below them in
	// the table: every province but Taiwan, Hong Kong and Macao.
	divided bool
}

// regions parses the embedded table once, on first use. The result is never
// modified afterwards, so sharing it between goroutines is safe. A malformed
// table is a build defect, caught by the package tests, hence the panic.
var regions = sync.OnceValue(func() map[string]region {
	t, err := parseRegions(regionsTxt)
	if err != nil {
		panic(err)
	}
	return t
})

// parseRegions reads lines of "CODE NAME" or "CODE NAME retired"; blank
// lines and lines starting with '#' are comments.
func parseRegions(src string) (map[string]region, error) {
	t := make(map[string]region, 8192)
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 || len(f[0]) != 6 || !allDigits(f[0]) || (len(f) == 3 && f[2] != "retired") {
			return nil, fmt.Errorf("idcard: regions.txt line %d: want \"CODE NAME [retired]\"", i+1)
		}
		if _, dup := t[f[0]]; dup {
			return nil, fmt.Errorf("idcard: regions.txt line %d: duplicate code %s", i+1, f[0])
		}
		t[f[0]] = region{name: f[1], retired: len(f) == 3}
	}
	for code := range t {
		if p := code[:2] + "0000"; code != p {
			if r, ok := t[p]; ok && !r.divided {
				r.divided = true
				t[p] = r
			}
		}
	}
	return t, nil
}

// knownRegion reports whether a six-digit code is acceptable as the first
// part of an ID number: either the code itself is in the table, or its
// prefecture (first four digits + "00", not a province) is. A province code
// counts only for Taiwan, Hong Kong and Macao, which GB/T 2260 does not
// subdivide; "110000…" is no one's number. The fallback exists because
// numbers were, and are, issued under codes the published table never held
// (forest districts, farms, "市辖区" codes, short-lived counties between two
// revisions), and new counties appear after any snapshot of the table;
// rejecting those would turn away real people, while a forged number still
// has to match the vendor's record.
func knownRegion(code string) bool {
	t := regions()
	if code[2:] == "0000" {
		r, ok := t[code]
		return ok && !r.divided
	}
	if _, ok := t[code]; ok {
		return true
	}
	if code[2:4] == "00" {
		return false
	}
	_, ok := t[code[:4]+"00"]
	return ok
}

// provinceName is the name of the province-level unit (first two digits +
// "0000") a code belongs to, or "" if the table lacks it.
func provinceName(code string) string {
	return regions()[code[:2]+"0000"].name
}

// placeName spells out where a code points, for people reading it: province,
// then prefecture and county when the table knows them. Placeholder
// prefecture rows such as "市辖区" or "省直辖县级行政区划" are skipped.
func placeName(code string) string {
	t := regions()
	var b strings.Builder
	b.WriteString(t[code[:2]+"0000"].name)
	if code[2:] == "0000" {
		return b.String()
	}
	if p, ok := t[code[:4]+"00"]; ok && !placeholder(p.name) {
		b.WriteString(p.name)
	}
	if code[4:] == "00" {
		return b.String()
	}
	if c, ok := t[code]; ok && !placeholder(c.name) {
		b.WriteString(c.name)
	}
	return b.String()
}

func placeholder(name string) bool {
	return name == "市辖区" || name == "县" || name == "市" || strings.HasSuffix(name, "直辖县级行政区划")
}
