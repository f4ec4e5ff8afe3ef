package idcard_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"math/bits"
	"strconv"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"realname/testdata/idcard"
)

// referenceDay pins "today" for the age rules, so the adult/minor split the
// fixtures promise does not drift as the real clock advances.
const referenceDay = "2026-11-23"

const maxImageBytes = 300 << 10

func cards(t *testing.T) []idcard.Card {
	t.Helper()
	cs, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 6 {
		t.Fatalf("got %d cards, want at least 6", len(cs))
	}
	return cs
}

func date(t *testing.T, key, field, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("%s: %s %q: %v", key, field, s, err)
	}
	return d
}

// age is the number of whole years from birth to day.
func age(birth, day time.Time) int {
	a := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		a--
	}
	return a
}

// checkDigit is an independent MOD 11-2 implementation, deliberately not
// shared with the generator so that a bug there cannot hide here.
func checkDigit(body string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

func TestCardsAreConsistent(t *testing.T) {
	today := date(t, "", "reference", referenceDay)
	seen := map[string]bool{}
	for _, c := range cards(t) {
		if c.Key == "" || seen[c.Key] {
			t.Errorf("key %q is empty or duplicated", c.Key)
		}
		seen[c.Key] = true

		id := c.IDNumber
		if len(id) != 18 {
			t.Errorf("%s: id %q has length %d", c.Key, id, len(id))
			continue
		}
		if _, err := strconv.ParseUint(id[:17], 10, 64); err != nil {
			t.Errorf("%s: id %q body is not numeric", c.Key, id)
			continue
		}
		if got := checkDigit(id); id[17] != got {
			t.Errorf("%s: id %q has check digit %c, want %c", c.Key, id, id[17], got)
		}
		birth := date(t, c.Key, "birth", c.Birth)
		if want := birth.Format("20060102"); id[6:14] != want {
			t.Errorf("%s: id %q encodes birth %s, card says %s", c.Key, id, id[6:14], want)
		}
		wantSex := "女"
		if (id[16]-'0')%2 == 1 {
			wantSex = "男"
		}
		if c.Sex != wantSex {
			t.Errorf("%s: sex %q, id %q implies %q", c.Key, c.Sex, id, wantSex)
		}

		from := date(t, c.Key, "valid_from", c.ValidFrom)
		if !from.After(birth) {
			t.Errorf("%s: valid_from %s not after birth %s", c.Key, c.ValidFrom, c.Birth)
		}
		if c.ValidTo != "长期" && !date(t, c.Key, "valid_to", c.ValidTo).After(from) {
			t.Errorf("%s: valid_to %s not after valid_from %s", c.Key, c.ValidTo, c.ValidFrom)
		}
		switch c.Check {
		case "match", "mismatch", "no_record":
		default:
			t.Errorf("%s: check %q is not match/mismatch/no_record", c.Key, c.Check)
		}
		if a := age(birth, today); c.Key == "minor" && a != 16 {
			t.Errorf("minor card holder is %d on %s, want 16", a, referenceDay)
		} else if c.Key != "minor" && a < 18 {
			t.Errorf("%s: holder is %d on %s, want an adult", c.Key, a, referenceDay)
		}
		for _, f := range []string{c.Name, c.Sex, c.Ethnicity, c.Address, c.Authority} {
			if f == "" {
				t.Errorf("%s: has an empty text field", c.Key)
			}
		}
	}
}

// TestScenariosCovered guards the cases other packages' tests depend on.
func TestScenariosCovered(t *testing.T) {
	cutoff := date(t, "", "cutoff", "2025-01-01")
	has := map[string]bool{}
	for _, c := range cards(t) {
		has["check:"+c.Check] = true
		has["key:"+c.Key] = true
		if c.ValidTo == "长期" {
			has["longterm"] = true
		} else if date(t, c.Key, "valid_to", c.ValidTo).Before(cutoff) {
			has["expired"] = true
		}
		if c.IDNumber[17] == 'X' {
			has["xdigit"] = true
		}
		if c.Ethnicity != "汉" {
			has["minority"] = true
		}
	}
	for _, want := range []string{
		"check:match", "check:mismatch", "longterm", "expired", "xdigit", "minority",
		"key:male", "key:female", "key:longterm", "key:mismatch", "key:expired",
		"key:xdigit", "key:minority", "key:minor",
	} {
		if !has[want] {
			t.Errorf("no card covers %s", want)
		}
	}
}

// imageNames lists the card images named in cards.json. Callers append the
// pseudo-name "not_a_card", which load maps to NotACard.
func imageNames(t *testing.T) []string {
	t.Helper()
	names := []string{}
	for _, c := range cards(t) {
		names = append(names, c.Front, c.Back)
	}
	return names
}

func load(t *testing.T, name string) ([]byte, image.Image) {
	t.Helper()
	var data []byte
	if name == "not_a_card" {
		data = idcard.NotACard()
	} else {
		var err error
		if data, err = idcard.Image(name); err != nil {
			t.Fatal(err)
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: decode: %v", name, err)
	}
	return data, img
}

func TestImagesDecode(t *testing.T) {
	for _, name := range append(imageNames(t), "not_a_card") {
		data, img := load(t, name)
		if len(data) >= maxImageBytes {
			t.Errorf("%s: %d bytes, want < %d", name, len(data), maxImageBytes)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 250 {
			t.Errorf("%s: %v is too small to pass for a photographed card", name, b)
		}
	}
	if _, err := idcard.Image("cards.json"); err == nil {
		t.Error("Image accepted a non-image name")
	}
	if _, err := idcard.Image("missing.png"); err == nil {
		t.Error("Image returned data for a missing file")
	}
}

// dHash is the 64-bit difference hash the fakes use to recognise a fixture:
// grayscale, box-average down to 9x8, one bit per horizontal neighbour pair
// (set when the left cell is brighter).
func dHash(img image.Image) uint64 {
	b := img.Bounds()
	var g [8][9]float64
	for r := range 8 {
		for c := range 9 {
			x0, x1 := b.Min.X+c*b.Dx()/9, b.Min.X+(c+1)*b.Dx()/9
			y0, y1 := b.Min.Y+r*b.Dy()/8, b.Min.Y+(r+1)*b.Dy()/8
			sum := 0.0
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
				}
			}
			g[r][c] = sum / float64((x1-x0)*(y1-y0))
		}
	}
	var h uint64
	for r := range 8 {
		for c := range 8 {
			h <<= 1
			if g[r][c] > g[r][c+1] {
				h |= 1
			}
		}
	}
	return h
}

func TestHashesAreDistinct(t *testing.T) {
	names := append(imageNames(t), "not_a_card")
	hashes := make([]uint64, len(names))
	for i, name := range names {
		_, img := load(t, name)
		hashes[i] = dHash(img)
	}
	closest := 64
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			d := bits.OnesCount64(hashes[i] ^ hashes[j])
			closest = min(closest, d)
			if d < 12 {
				t.Errorf("%s and %s hash %d bits apart, want >= 12", names[i], names[j], d)
			}
		}
	}
	t.Logf("closest pair of %d images: %d bits apart", len(names), closest)
}

// TestHashesSurviveReencoding mimics a client that downsizes and recompresses
// the upload before it reaches the fake.
func TestHashesSurviveReencoding(t *testing.T) {
	worst := 0
	for _, name := range append(imageNames(t), "not_a_card") {
		_, img := load(t, name)
		b := img.Bounds()
		half := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
		draw.ApproxBiLinear.Scale(half, half.Rect, img, b, draw.Src, nil)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, half, &jpeg.Options{Quality: 70}); err != nil {
			t.Fatal(err)
		}
		again, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		d := bits.OnesCount64(dHash(img) ^ dHash(again))
		worst = max(worst, d)
		if d > 6 {
			t.Errorf("%s: re-encoded copy hashes %d bits away, want <= 6", name, d)
		}
	}
	t.Logf("largest drift after downscale + JPEG q70: %d bits", worst)
}
