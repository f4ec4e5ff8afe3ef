package idcard

import (
	"slices"
	"testing"
)

func TestCrossCheck(t *testing.T) {
	n, err := Parse("110101199005142138", testToday)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, birth, sex string
		want             []string
	}{
		{"agree", "1990-05-14", "男", nil},
		{"unpadded date", "1990-5-14", "男", nil},
		{"spaces", " 1990-05-14 ", " 男 ", nil},
		{"nothing read", "", "", nil},
		{"birth differs", "1990-05-15", "男", []string{WarnBirthMismatch}},
		{"birth unreadable", "1990年5月14日", "男", []string{WarnBirthMismatch}},
		{"sex differs", "1990-05-14", "女", []string{WarnSexMismatch}},
		{"sex unreadable", "", "M", []string{WarnSexMismatch}},
		{"both differ", "1991-05-14", "女", []string{WarnBirthMismatch, WarnSexMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CrossCheck(n, tt.birth, tt.sex); !slices.Equal(got, tt.want) {
				t.Errorf("CrossCheck(%q, %q) = %q, want %q", tt.birth, tt.sex, got, tt.want)
			}
		})
	}
}
