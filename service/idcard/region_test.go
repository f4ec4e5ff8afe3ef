package idcard

import (
	"strings"
	"testing"
)

func TestRegionTable(t *testing.T) {
	table := regions()
	current := 0
	for code, r := range table {
		if !r.retired {
			current++
		}
		if len(code) != 6 || r.name == "" {
			t.Errorf("bad row %q %+v", code, r)
		}
	}
	// The table holds every code since 1980; shrinking it would start
	// rejecting real cards, so a large drop is a defect, not a cleanup.
	if len(table) < 6700 || current < 3200 {
		t.Errorf("table has %d rows, %d current; want at least 6700 and 3200", len(table), current)
	}
	for _, p := range []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"} {
		if r, ok := table[p+"0000"]; !ok || r.retired {
			t.Errorf("province %s0000 missing or retired", p)
		}
	}
}

func TestKnownRegion(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"110101", true},  // 东城区, current
		{"110103", true},  // 崇文区, merged into 东城区 in 2010
		{"132101", true},  // 邯郸地区 邯郸市, retired 1983
		{"500105", true},  // 江北区, retired 2025 with the old code still on cards
		{"500157", true},  // 两江新区, 2025
		{"653229", true},  // 和安县, 2024
		{"441900", true},  // 东莞市 has no counties: the prefecture code is the region
		{"429004", true},  // 仙桃市, directly under the province
		{"810000", true},  // Hong Kong: a province row with nothing below it
		{"820000", true},  // Macao
		{"710000", true},  // Taiwan
		{"110199", true},  // unknown county, known 市辖区 prefecture row
		{"132199", true},  // unknown county of a retired prefecture
		{"440399", true},  // unknown county of 深圳市
		{"110000", false}, // a subdivided province is no one's region
		{"110001", false}, // nor is anything under its "00" prefecture
		{"440000", false},
		{"119901", false}, // no such prefecture
		{"139099", false}, // 1990s directly administered cities have no 139000 row
		{"990101", false},
		{"000000", false},
	}
	for _, tt := range tests {
		if got := knownRegion(tt.code); got != tt.want {
			t.Errorf("knownRegion(%s) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestPlaceName(t *testing.T) {
	tests := []struct{ code, want string }{
		{"110101", "北京市东城区"},
		{"110103", "北京市崇文区"},
		{"310104", "上海市徐汇区"},
		{"440305", "广东省深圳市南山区"},
		{"429004", "湖北省仙桃市"},
		{"441900", "广东省东莞市"},
		{"810000", "香港特别行政区"},
		{"110199", "北京市"},
		{"440399", "广东省深圳市"},
		{"500112", "重庆市渝北区"},
	}
	for _, tt := range tests {
		if got := placeName(tt.code); got != tt.want {
			t.Errorf("placeName(%s) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestParseRegionsRejectsMalformed(t *testing.T) {
	good := "# comment\n\n110000 北京市\n110103 崇文区 retired\n"
	if tbl, err := parseRegions(good); err != nil || len(tbl) != 2 || !tbl["110103"].retired || !tbl["110000"].divided {
		t.Fatalf("parseRegions(good) = %+v, %v", tbl, err)
	}
	for _, bad := range []string{
		"11000 北京市\n",
		"11000a 北京市\n",
		"110000\n",
		"110000 北京市 gone\n",
		"110000 北京 市 retired\n",
		"110000 北京市\n110000 北京市\n",
	} {
		if _, err := parseRegions(bad); err == nil || !strings.Contains(err.Error(), "regions.txt line") {
			t.Errorf("parseRegions(%q) error = %v, want a line error", bad, err)
		}
	}
}

func TestParseOutsideMainland(t *testing.T) {
	for _, body := range []string{"81000019900101123", "82000019900101124", "71000019900101125"} {
		n, err := Parse(withCheck(t, body), testToday)
		if err != nil || n.Province == "" {
			t.Errorf("Parse(%s…) = %+v, %v", body, n, err)
		}
	}
}
