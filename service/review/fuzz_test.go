package review

import "testing"

// FuzzParseCursor: the queue cursor from the URL parses to one that
// encodes back to a cursor parsing the same, or is refused.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"1732330800000.42", "0.0", "-1.-1", ".", "1e3.5", "9223372036854775807.9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		again, err := ParseCursor(c.String())
		if err != nil || !again.UpdatedAt.Equal(c.UpdatedAt) || again.ID != c.ID {
			t.Fatalf("%q → %v → %v %v", s, c, again, err)
		}
	})
}
