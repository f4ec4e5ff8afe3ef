package vendorcode

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCodeDecodes(t *testing.T) {
	for in, want := range map[string]Code{
		`0`: 0, `"0"`: 0, `-1`: -1, `"-1"`: -1, `40001`: 40001, `"40001"`: 40001, `" 10000 "`: 10000, `"\u0030"`: 0,
	} {
		var c Code = 99
		if err := json.Unmarshal([]byte(in), &c); err != nil || c != want {
			t.Errorf("%s → %v %v, want %v", in, c, err, want)
		}
	}
	for _, in := range []string{`""`, `"ok"`, `"0x10"`, `"1e3"`, `1.5`, `1e3`, `true`, `{}`, `[]`, `"０"`, `"99999999999999999999"`} {
		var c Code
		if err := json.Unmarshal([]byte(in), &c); !errors.Is(err, ErrNotNumeric) {
			t.Errorf("%s → %v %v, want ErrNotNumeric", in, c, err)
		}
	}
	var ans struct {
		Code *Code `json:"errcode"`
	}
	if err := json.Unmarshal([]byte(`{"errcode":null}`), &ans); err != nil || ans.Code != nil {
		t.Errorf("null → %v %v", ans.Code, err)
	}
	if err := json.Unmarshal([]byte(`{"errcode":"101001"}`), &ans); err != nil || ans.Code == nil || *ans.Code != 101001 || ans.Code.String() != "101001" {
		t.Errorf("string code → %v %v", ans.Code, err)
	}
}

func FuzzCode(f *testing.F) {
	for _, s := range []string{`0`, `"0"`, `"-7"`, `" 1 "`, `"x"`, `1.0`, `null`, `"\u0031"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Code
		if err := c.UnmarshalJSON(b); err != nil && !errors.Is(err, ErrNotNumeric) {
			t.Fatalf("unclassified: %v", err)
		}
	})
}
