package pii

import (
	"strings"
	"testing"
)

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"110101199003071234", "1101**********1234"},
		{"11010119900307123X", "1101**********123X"},
		{"11010119900307123x", "1101**********123x"},
		{"110101900307123", "1101********123"},
		{"", ""},
		{"1234567", "*******"},
		{"12345678", "12****78"},
		{"12345678901234", "12**********34"},
		{"1234567890123456", "12************56"},
		{"12345678901234567", "12*************67"},
		{"1234567890123456789", "12***************89"},
		{"身份证号码未知错误", "身份*****错误"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskIDNumber(tt.in); got != tt.want {
				t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"张", "*"},
		{"张三", "张*"},
		{"李小龙", "李**"},
		{"欧阳娜娜", "欧***"},
		{"司马相如x", "司****"},
		{"艾力·吐尔逊", "艾*****"},
		{"John", "J***"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskName(tt.in); got != tt.want {
				t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"+8613812345678", "+86138****5678"},
		{"+86 13812345678", "+86 138****5678"},
		{"+86-13812345678", "+86-138****5678"},
		{"010-12345678", "********5678"},
		{"1234567", "*******"},
		{"", ""},
		{"+86", "+86"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"北京市朝阳区建国路88号SOHO现代城", "北京市朝阳区****"},
		{"广东省深圳市南山区科技园", "广东省深圳市****"},
		{"北京市朝阳区", "北京市****"},
		{"上海", "上****"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskAddress(tt.in); got != tt.want {
				t.Errorf("MaskAddress(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"clean", "用户提交了身份证照片", "用户提交了身份证照片"},
		{"empty", "", ""},
		{"phone", "call 13812345678 now", "call 138****5678 now"},
		{"phone in chinese", "手机13812345678已验证", "手机138****5678已验证"},
		{"phone +86", "tel:+8613812345678", "tel:+86138****5678"},
		{"id", "id=110101199003071234;", "id=1101**********1234;"},
		{"id X", "身份证11010119900307123X通过", "身份证1101**********123X通过"},
		{"id x", "11010119900307123x", "1101**********123x"},
		{"legacy id", "旧证110101900307123", "旧证1101********123"},
		{"both", "13812345678,110101199003071234", "138****5678,1101**********1234"},
		{"adjacent letters", "a13812345678b", "a138****5678b"},
		{"19 digits", "order 1234567890123456789", "order 1234567890123456789"},
		{"28 digits", "4200001234202411231234567890", "4200001234202411231234567890"},
		{"12 digits", "138123456789", "138123456789"},
		{"11 digits not mobile", "12812345678 10812345678", "12812345678 10812345678"},
		{"16 digits", "6222021234567890", "6222021234567890"},
		{"17 digits", "12345678901234567", "12345678901234567"},
		{"17 digits + X in longer run", "12345678901234567X", "1234**********567X"},
		{"unix ms", "ts=1732345678901", "ts=1732345678901"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskText(tt.in); got != tt.want {
				t.Errorf("MaskText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

const cleanText = "用户 o-abc123 在 2024-11-23 12:00:05 提交了第 42 次实名认证, order 4200001234202411231234567890, latency 135ms"

func TestMaskTextCleanDoesNotAllocate(t *testing.T) {
	if got := MaskText(cleanText); got != cleanText {
		t.Fatalf("clean text changed: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { MaskText(cleanText) }); n != 0 {
		t.Fatalf("MaskText on clean text: %v allocs, want 0", n)
	}
}

func BenchmarkMaskTextClean(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		MaskText(cleanText)
	}
}

func BenchmarkMaskTextDirty(b *testing.B) {
	s := strings.Replace(cleanText, "42", "13812345678 / 110101199003071234", 1)
	b.ReportAllocs()
	for b.Loop() {
		MaskText(s)
	}
}
