package pii

import (
	"strings"
	"testing"
)

func TestMaskHolder(t *testing.T) {
	names := []string{"周晓梅"}
	addr := "湖北省武汉市洪山区珞喻路1037号"
	for _, tc := range []struct{ in, want string }{
		{"核对 周晓梅 本人", "核对 周** 本人"},
		{"晓梅说卡丢了", "**说卡丢了"},
		{"住址 湖北省武汉市 一致", "住址 湖北省**** 一致"},
		{"住址湖北省武汉市洪山区珞喻路1037号", "住址湖北省武汉市****"},
		{"在洪山区珞喻路附近", "在****附近"},
		{"路口", "路口"},
		{"照片模糊", "照片模糊"},
	} {
		got := MaskHolder(tc.in, names, addr)
		if got != tc.want {
			t.Errorf("MaskHolder(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, leak := range []string{"周晓梅", "晓梅", "武汉市洪山", "珞喻路"} {
			if strings.Contains(got, leak) {
				t.Errorf("MaskHolder(%q) = %q still says %q", tc.in, got, leak)
			}
		}
	}
	if got := MaskHolder("艾力", []string{"艾力"}, ""); got != "艾*" {
		t.Errorf("two-rune name: %q", got)
	}
}
