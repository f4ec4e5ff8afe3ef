package ocr_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"

	"realname/service/ocr"
	"realname/testdata/idcard"
)

const twoMB = 2 << 20

// noisyPNG is a w x h image of random pixels: PNG cannot compress noise, so
// its size is about 3*w*h bytes, like an unprocessed camera photo.
func noisyPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		if i%4 == 3 {
			img.Pix[i] = 0xff
		} else {
			img.Pix[i] = uint8(rng.UintN(256))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeConfig(t *testing.T, data []byte) (image.Config, string) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	return cfg, format
}

func TestFitShrinksLargeImage(t *testing.T) {
	big := noisyPNG(t, 1200, 900)
	if len(big) <= twoMB {
		t.Fatalf("test image is only %d bytes", len(big))
	}
	out, err := ocr.Fit(big, twoMB, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) >= twoMB {
		t.Fatalf("output is %d bytes, want < %d", len(out), twoMB)
	}
	cfg, format := decodeConfig(t, out)
	if format != "jpeg" {
		t.Fatalf("output is %s, want jpeg", format)
	}
	// Noise at 1200x900 fits under 2 MB as JPEG without shrinking much;
	// the aspect ratio must survive whatever shrinking happened.
	if cfg.Width < cfg.Height || cfg.Width > 1200 {
		t.Fatalf("output is %dx%d", cfg.Width, cfg.Height)
	}
}

func TestFitTightLimitShrinksPixels(t *testing.T) {
	big := noisyPNG(t, 640, 480)
	const limit = 60 << 10
	out, err := ocr.Fit(big, limit, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := decodeConfig(t, out)
	if len(out) >= limit || cfg.Width >= 640 {
		t.Fatalf("output is %d bytes, %dx%d", len(out), cfg.Width, cfg.Height)
	}
}

func TestFitMaxSide(t *testing.T) {
	data, err := idcard.Image("male_front.png") // 856x540
	if err != nil {
		t.Fatal(err)
	}
	out, err := ocr.Fit(data, twoMB, 428)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format := decodeConfig(t, out)
	if format != "jpeg" || cfg.Width != 428 || cfg.Height != 270 {
		t.Fatalf("output is %s %dx%d, want jpeg 428x270", format, cfg.Width, cfg.Height)
	}
}

func TestFitPassesSmallImageThrough(t *testing.T) {
	png, err := idcard.Image("male_front.png")
	if err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer
	img, _, _ := image.Decode(bytes.NewReader(png))
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": png, "jpeg": jpg.Bytes()} {
		for _, maxSide := range []int{0, 856} {
			out, err := ocr.Fit(data, twoMB, maxSide)
			if err != nil {
				t.Fatalf("%s, maxSide %d: %v", name, maxSide, err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("%s, maxSide %d: image was re-encoded", name, maxSide)
			}
		}
	}
}

func TestFitFlattensTransparency(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 400, 300))); err != nil { // all transparent
		t.Fatal(err)
	}
	out, err := ocr.Fit(buf.Bytes(), twoMB, 200)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if g := color.GrayModel.Convert(img.At(100, 75)).(color.Gray); g.Y < 250 {
		t.Fatalf("transparent area became gray %d, want white", g.Y)
	}
}

func TestFitRejectsBadImages(t *testing.T) {
	card, err := idcard.Image("male_front.png")
	if err != nil {
		t.Fatal(err)
	}
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, image.NewPaletted(image.Rect(0, 0, 10, 10), color.Palette{color.White}), nil); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not an image at all, just some text"),
		"truncated": card[:len(card)/2],
		"gif":       gifData.Bytes(),
		"huge":      idcard.PNGClaiming(60000, 60000),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := ocr.Fit(data, twoMB, 0)
			if !errors.Is(err, ocr.ErrBadImage) {
				t.Fatalf("got %d bytes, err %v; want ErrBadImage", len(out), err)
			}
			if !ocr.Definitive(err) {
				t.Fatal("a bad image must be definitive")
			}
		})
	}
}
