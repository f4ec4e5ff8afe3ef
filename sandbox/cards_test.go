package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/bits"
	"sync"
	"testing"

	"golang.org/x/image/draw"

	"realname/testdata/idcard"
)

// sharedCards hashes the samples once per test binary: every test needs
// them, none modifies them (Cards is immutable).
var sharedCards = sync.OnceValues(LoadCards)

func testCards(t *testing.T) *Cards {
	t.Helper()
	c, err := sharedCards()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sample is one face of a sample card, as shipped and as a phone would
// upload it after scaling it to 60% and saving it as JPEG q75.
type sample struct {
	name      string
	card      idcard.Card
	side      Side
	png, jpeg []byte
}

// sharedSamples re-encodes every sample once per test binary; scaling is
// the slowest step of these tests under -race.
var sharedSamples = sync.OnceValues(func() ([]sample, error) {
	cards, err := idcard.Cards()
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, card := range cards {
		for _, f := range []struct {
			name string
			side Side
		}{{card.Front, SideFront}, {card.Back, SideBack}} {
			data, err := idcard.Image(f.name)
			if err != nil {
				return nil, err
			}
			small, err := reencode(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			out = append(out, sample{name: f.name, card: card, side: f.side, png: data, jpeg: small})
		}
	}
	return out, nil
})

func testSamples(t *testing.T) []sample {
	t.Helper()
	s, err := sharedSamples()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reencode(data []byte) ([]byte, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	small := image.NewRGBA(image.Rect(0, 0, b.Dx()*6/10, b.Dy()*6/10))
	draw.ApproxBiLinear.Scale(small, small.Rect, img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func TestCardsRecognizeSamples(t *testing.T) {
	c := testCards(t)
	for _, smp := range testSamples(t) {
		for variant, data := range map[string][]byte{"png": smp.png, "jpeg60": smp.jpeg} {
			t.Run(smp.name+"/"+variant, func(t *testing.T) {
				got, side, ok := c.Match(data)
				if !ok || got.Key != smp.card.Key || side != smp.side {
					t.Fatalf("Match = %q %q %v, want %q %q", got.Key, side, ok, smp.card.Key, smp.side)
				}
				if got != smp.card {
					t.Errorf("Match returned %+v, want the cards.json entry %+v", got, smp.card)
				}
			})
		}
	}
}

// TestCardsHashMargins documents how far the samples are from each other
// and how far re-encoding moves them, against the 10-bit threshold.
func TestCardsHashMargins(t *testing.T) {
	c := testCards(t)
	closest := 64
	for i, a := range c.refs {
		for _, b := range c.refs[i+1:] {
			closest = min(closest, bits.OnesCount64(a.hash^b.hash))
		}
	}
	// Below 2*10 one copy could be within reach of two samples.
	if closest < 2*maxMatchDistance {
		t.Errorf("closest samples are %d bits apart, want >= %d", closest, 2*maxMatchDistance)
	}
	worst := 0
	for i, smp := range testSamples(t) {
		if ref := c.refs[i]; ref.card.Key != smp.card.Key || ref.side != smp.side {
			t.Fatalf("sample %d is %s, LoadCards has %s %s there", i, smp.name, ref.card.Key, ref.side)
		}
		img, err := decodeBounded(smp.jpeg)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := dHash(img)
		worst = max(worst, bits.OnesCount64(h^c.refs[i].hash))
	}
	if worst > maxMatchDistance/2 {
		t.Errorf("re-encoding drifts %d bits, want a wide margin under %d", worst, maxMatchDistance)
	}
	t.Logf("closest pair %d bits apart; largest drift after 60%% + JPEG q75: %d bits", closest, worst)
}

func TestCardsRejects(t *testing.T) {
	c := testCards(t)
	notACardJPEG, err := reencode(idcard.NotACard())
	if err != nil {
		t.Fatal(err)
	}
	var gifBuf, tinyBuf bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 40, 30), color.Palette{color.White, color.Black})
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&tinyBuf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not a card", idcard.NotACard(), ErrNoCard},
		{"not a card as jpeg", notACardJPEG, ErrNoCard},
		{"smaller than the grid", tinyBuf.Bytes(), ErrNoCard},
		{"garbage", []byte("this is not an image"), ErrNotImage},
		{"empty", nil, ErrNotImage},
		{"truncated png", testSamples(t)[0].png[:2000], ErrNotImage},
		{"gif", gifBuf.Bytes(), ErrNotImage},
		{"header says 50 megapixels", idcard.PNGClaiming(10000, 5000), ErrImageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := c.Recognize(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("Recognize error %v, want %v", err, tc.want)
			}
			if _, _, ok := c.Match(tc.data); ok {
				t.Fatal("Match accepted it")
			}
		})
	}
}
