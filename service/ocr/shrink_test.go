package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/image/bmp"

	"realname/testdata/idcard"
)

func TestShrinkKeepsToneAndAspect(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 5000, 3000))
	for i := range gray.Pix {
		gray.Pix[i] = 0x80
	}
	clear := image.NewNRGBA(image.Rect(0, 0, 3000, 2000)) // fully transparent
	red := image.NewRGBA(image.Rect(0, 0, 2500, 1000))
	draw.Draw(red, red.Bounds(), image.NewUniform(color.RGBA{200, 10, 10, 255}), image.Point{}, draw.Src)
	small := image.NewGray(image.Rect(0, 0, 640, 400))
	for _, c := range []struct {
		name   string
		img    image.Image
		w, h   int
		want   color.RGBA
		corner bool
	}{
		{"box then bilinear", gray, 2048, 1229, color.RGBA{0x80, 0x80, 0x80, 255}, true},
		{"transparent becomes paper", clear, 2048, 1365, color.RGBA{255, 255, 255, 255}, true},
		{"bilinear only", red, 2048, 819, color.RGBA{200, 10, 10, 255}, true},
		{"already small", small, 640, 400, color.RGBA{0, 0, 0, 255}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := shrink(c.img, ShrinkSide)
			if b := out.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
				t.Fatalf("size %v, want %dx%d", b.Size(), c.w, c.h)
			}
			for _, p := range []image.Point{{0, 0}, {c.w / 2, c.h / 2}, {c.w - 1, c.h - 1}} {
				if got := out.RGBAAt(p.X, p.Y); !near(got, c.want) {
					t.Errorf("pixel %v = %v, want %v", p, got, c.want)
				}
			}
		})
	}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) < 3 && int(y)-int(x) < 3 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

// TestOrientPlanesMatchImaging turns JPEG-shaped images plane by plane and
// checks every pixel against imaging's own transforms.
func TestOrientPlanesMatchImaging(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio420} {
		src := image.NewYCbCr(image.Rect(0, 0, 36, 20), ratio)
		for i := range src.Y {
			src.Y[i] = uint8(i * 13)
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(i*29), uint8(255-i*7)
		}
		gray := image.NewGray(image.Rect(0, 0, 36, 20))
		for i := range gray.Pix {
			gray.Pix[i] = uint8(i * 11)
		}
		for o := 2; o <= 8; o++ {
			for _, img := range []image.Image{src, gray} {
				got := orient(img, o)
				if _, ok := got.(*image.NRGBA); ok {
					t.Fatalf("%T %v orientation %d went through imaging", img, ratio, o)
				}
				want := orient(imaging.Clone(img), o) // NRGBA: imaging's path
				if got.Bounds().Size() != want.Bounds().Size() {
					t.Fatalf("orientation %d: size %v, want %v", o, got.Bounds().Size(), want.Bounds().Size())
				}
				for y := 0; y < want.Bounds().Dy(); y++ {
					for x := 0; x < want.Bounds().Dx(); x++ {
						if color.NRGBAModel.Convert(got.At(x, y)) != want.At(x, y) {
							t.Fatalf("%T %v orientation %d: pixel (%d,%d) = %v, want %v", img, ratio, o, x, y,
								color.NRGBAModel.Convert(got.At(x, y)), want.At(x, y))
						}
					}
				}
			}
		}
	}
}

// TestDecodeCostCoversTheDecoder checks the charge against what Go's
// decoders really allocate, for each kind of file the intake decodes.
func TestDecodeCostCoversTheDecoder(t *testing.T) {
	const w, h = 1200, 900
	rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 31)
	}
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	gray := image.NewGray(rgba.Bounds())
	draw.Draw(gray, gray.Bounds(), rgba, image.Point{}, draw.Src)
	deep := image.NewNRGBA64(rgba.Bounds())
	draw.Draw(deep, deep.Bounds(), rgba, image.Point{}, draw.Src)
	pal := image.NewPaletted(rgba.Bounds(), color.Palette{color.Black, color.White, color.Gray{0x80}})
	draw.Draw(pal, pal.Bounds(), rgba, image.Point{}, draw.Src)
	files := map[string][]byte{
		"png-rgba":    enc(func(b *bytes.Buffer) error { return png.Encode(b, rgba) }),
		"png-gray":    enc(func(b *bytes.Buffer) error { return png.Encode(b, gray) }),
		"png-16bit":   enc(func(b *bytes.Buffer) error { return png.Encode(b, deep) }),
		"png-palette": enc(func(b *bytes.Buffer) error { return png.Encode(b, pal) }),
		"jpeg-420":    enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, nil) }),
		"jpeg-gray":   enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }),
		"bmp":         enc(func(b *bytes.Buffer) error { return bmp.Encode(b, rgba) }),
	}
	for _, name := range []string{"cmyk.jpg", "ycck.jpg"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	for name, data := range files {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(name, err)
		}
		cost := decodeCost(data, format, cfg.Width, cfg.Height)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Fatal(name, err)
		}
		runtime.ReadMemStats(&after)
		used := int64(after.TotalAlloc - before.TotalAlloc)
		// The decoders' own buffers (zlib, Huffman tables) are a few
		// hundred KB beside the pixels.
		if cost+512<<10 < used || cost > 2*used+1<<20 {
			t.Errorf("%s: charged %d KB, the decoder allocated %d KB", name, cost>>10, used>>10)
		}
	}
}

func TestIntakeShrinksBigImagesWithinTheBudget(t *testing.T) {
	side := 6320 // the measured attack: under 40 MP, 52 KB as a PNG
	g := image.NewGray(image.Rect(0, 0, side, side))
	for i := range g.Pix {
		g.Pix[i] = 0xe0
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	g = nil
	in := NewIntake(IntakeLimits{}, NewBudget(0, time.Second))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := in.Prepare(context.Background(), buf.Bytes())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "image/jpeg" || max(p.Width, p.Height) != ShrinkSide || len(p.Data) >= readyBytes {
		t.Fatalf("got %s %dx%d of %d bytes", p.Type, p.Width, p.Height, len(p.Data))
	}
	if used := after.TotalAlloc - before.TotalAlloc; used > MaxDecodeBytes {
		t.Errorf("intake allocated %d MB for one image, over %d MB", used>>20, MaxDecodeBytes>>20)
	}
}

func TestIntakeRefusesWhatWouldNotFitBeforeDecoding(t *testing.T) {
	// A 16-bit RGBA PNG of 5000x5000 decodes to 200 MB.
	hdr := idcard.PNGClaimingAs(5000, 5000, 16, 6)
	in := NewIntake(IntakeLimits{}, NewBudget(0, time.Second))
	_, err := in.Prepare(context.Background(), hdr)
	if !errors.Is(err, ErrImageTooLarge) || !errors.Is(err, ErrBadImage) {
		t.Fatalf("err = %v, want ErrImageTooLarge (an ErrBadImage)", err)
	}
}

func TestIntakeWaitsForTheBudgetThenSaysBusy(t *testing.T) {
	data := bigPNG(t)
	budget := NewBudget(MaxDecodeBytes, 50*time.Millisecond)
	reg := prometheus.NewRegistry()
	if err := budget.Register(reg); err != nil {
		t.Fatal(err)
	}
	in := NewIntake(IntakeLimits{}, budget)
	release, err := budget.acquire(context.Background(), budget.Size()) // another upload holds it all
	if err != nil {
		t.Fatal(err)
	}
	if used := gathered(t, reg, "realname_image_budget_used_bytes"); used != float64(MaxDecodeBytes) {
		t.Errorf("used while held = %v, want the whole budget", used)
	}
	began := time.Now()
	if _, err := in.Prepare(context.Background(), data); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if waited := time.Since(began); waited < 50*time.Millisecond {
		t.Errorf("gave up after %s, before its wait", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Prepare(ctx, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	// A photo that needs no decoding never waits.
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 800, 500)))
	if _, err := in.Prepare(context.Background(), buf.Bytes()); err != nil {
		t.Fatalf("small photo: %v", err)
	}
	release()
	p, err := in.Prepare(context.Background(), data)
	if err != nil || p.Width != ShrinkSide {
		t.Fatalf("after release: %v (%d px)", err, p.Width)
	}
	// Two waited (the one refused, the one cancelled), one was refused,
	// and nothing is charged once all is done.
	for name, want := range map[string]float64{"realname_image_budget_waits_total": 2, "realname_image_busy_total": 1,
		"realname_image_budget_used_bytes": 0, "realname_image_budget_bytes": float64(MaxDecodeBytes)} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// gathered is the value of the one metric named name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not exported", name)
	return 0
}

func bigPNG(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4200, 3000))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
