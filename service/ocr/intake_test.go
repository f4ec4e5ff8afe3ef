package ocr_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"realname/service/ocr"
	"realname/testdata/idcard"
)

// picture is 400×300 with a dark left half, so rotation is visible.
func picture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 400; x++ {
			c := color.RGBA{230, 230, 230, 255}
			if x < 200 {
				c = color.RGBA{20, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func encode(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withExif inserts an APP1 Exif segment holding Orientation and a
// pretend GPS string right after SOI.
func withExif(jpg []byte, orientation uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1) // one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3) // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, orientation)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, next IFD 0
	payload := append([]byte("Exif\x00\x00"), tiff...)
	payload = append(payload, []byte("GPS 39.9042N 116.4074E")...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestPrepareStripsJPEGMetadataLosslessly(t *testing.T) {
	plain := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, picture(), nil) })
	up := withExif(plain, 1)
	p, err := prepare(up)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("GPS")) || bytes.Contains(p.Data, []byte("Exif")) {
		t.Fatal("EXIF kept")
	}
	if !bytes.Equal(p.Data, plain) {
		t.Fatal("upright JPEG was not passed through byte for byte (minus EXIF)")
	}
	if p.Type != "image/jpeg" || p.Width != 400 || p.Height != 300 {
		t.Fatalf("%s %dx%d", p.Type, p.Width, p.Height)
	}
}

func TestPrepareTurnsRotatedJPEGUpright(t *testing.T) {
	up := withExif(encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, picture(), nil) }), 6)
	p, err := prepare(up)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 300 || b.Dy() != 400 || p.Width != 300 {
		t.Fatalf("rotated size %v, photo says %dx%d", b, p.Width, p.Height)
	}
	// Orientation 6 is "rotate 90° clockwise to view": the dark left half
	// ends up on top.
	top, _, _, _ := img.At(150, 50).RGBA()
	bottom, _, _, _ := img.At(150, 350).RGBA()
	if top >= bottom {
		t.Fatalf("not rotated clockwise: top %d bottom %d", top>>8, bottom>>8)
	}
	if bytes.Contains(p.Data, []byte("GPS")) {
		t.Fatal("EXIF kept")
	}
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

func TestPrepareStripsPNGText(t *testing.T) {
	plain := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, picture()) })
	// tEXt after IHDR (8 signature + 25 IHDR bytes).
	withText := append(append(append([]byte{}, plain[:33]...), pngChunk("tEXt", []byte("Comment\x00张三 110101199003078515"))...), plain[33:]...)
	p, err := prepare(withText)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Data, plain) || p.Type != "image/png" {
		t.Fatal("PNG text chunk not stripped losslessly")
	}
	if p.SHA256 == (ocr.Photo{}).SHA256 {
		t.Fatal("no hash")
	}
}

func TestPrepareConvertsBMP(t *testing.T) {
	p, err := prepare(encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, picture()) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(p.Data)); err != nil || p.Type != "image/png" {
		t.Fatalf("BMP became %s: %v", p.Type, err)
	}
}

func TestPrepareRefuses(t *testing.T) {
	gifData := encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, picture(), nil) })
	if _, err := prepare(gifData); !errors.Is(err, ocr.ErrUnsupportedType) {
		t.Errorf("GIF: %v", err)
	}
	if _, err := prepare([]byte("%PDF-1.4 not an image")); !errors.Is(err, ocr.ErrUnsupportedType) {
		t.Errorf("PDF: %v", err)
	}
	// A PNG header claiming 60000×60000: refused from the header alone.
	if _, err := prepare(idcard.PNGClaiming(60000, 60000)); !errors.Is(err, ocr.ErrBadImage) {
		t.Errorf("bomb: %v", err)
	}
	small := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray(image.Rect(0, 0, 100, 60))) })
	if _, err := prepare(small); !errors.Is(err, ocr.ErrBadImage) {
		t.Errorf("tiny: %v", err)
	}
	jpg := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, picture(), nil) })
	if _, err := prepare(jpg[:40]); !errors.Is(err, ocr.ErrBadImage) {
		t.Errorf("truncated: %v", err)
	}
}

// TestPrepareKeepsCMYKJPEGs: CMYK JPEGs (as print workflows and some
// scanners write) come in two encodings, told apart by the Adobe APP14
// segment: plain CMYK (transform 0, as Pillow writes) and YCCK (transform
// 2, as ImageMagick writes). Intake keeps the segment, the colours come
// out as on the card, and Fit turns either into an image a vendor reads.
func TestPrepareKeepsCMYKJPEGs(t *testing.T) {
	want := decodeFile(t, "../../testdata/idcard/male_front.png")
	for _, c := range []struct{ file, made string }{
		{"testdata/cmyk.jpg", "Pillow: Image.open('male_front.png').convert('CMYK').save('cmyk.jpg', quality=75)"},
		{"testdata/ycck.jpg", "ImageMagick 6: convert male_front.png -colorspace CMYK ycck.jpg"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := prepare(data)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			img, err := jpeg.Decode(bytes.NewReader(p.Data))
			if err != nil {
				t.Fatalf("the prepared JPEG does not decode: %v", err)
			}
			if _, ok := img.(*image.CMYK); !ok {
				t.Fatalf("decoded as %T", img)
			}
			if d := colourDistance(img, want); d > 24 {
				t.Errorf("colours are off by %d on average (0–255) from the card (made by %s)", d, c.made)
			}
			fit, err := ocr.Fit(p.Data, 1<<20, 600)
			if err != nil {
				t.Fatalf("Fit: %v", err)
			}
			if _, err := jpeg.Decode(bytes.NewReader(fit)); err != nil {
				t.Fatalf("Fit's result does not decode: %v", err)
			}
		})
	}
}

func decodeFile(t *testing.T, name string) image.Image {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// colourDistance is the mean absolute difference per channel of a and b
// (same size), sampled on a grid.
func colourDistance(a, b image.Image) int {
	var sum, n int
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			c1 := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
			c2 := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			for _, d := range []int{int(c1.R) - int(c2.R), int(c1.G) - int(c2.G), int(c1.B) - int(c2.B)} {
				sum += max(d, -d)
				n++
			}
		}
	}
	return sum / max(n, 1)
}

// TestPrepareAcceptsBytesAfterEOI: what some cameras and editors append
// after the image (padding, a trailer, a hidden archive) does not make it
// unreadable but is cut off, while a file cut inside its scan is refused.
func TestPrepareAcceptsBytesAfterEOI(t *testing.T) {
	jpg := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, picture(), nil) })
	trailing := append(append([]byte{}, jpg...), []byte("trailer of a photo editor \x00\x01\x02")...)
	p, err := prepare(trailing)
	if err != nil {
		t.Fatalf("bytes after EOI: %v", err)
	}
	if !bytes.Equal(p.Data, jpg) {
		t.Fatalf("prepared %d bytes from a %d-byte image and its trailer", len(p.Data), len(jpg))
	}
	if _, err := prepare(jpg[:len(jpg)/2]); !errors.Is(err, ocr.ErrBadImage) {
		t.Fatalf("a JPEG cut in half: %v", err)
	}
	if _, err := ocr.Fit(p.Data, 1<<20, 2000); err != nil {
		t.Fatalf("Fit after EOI: %v", err)
	}
	if _, err := ocr.Fit(jpg[:len(jpg)/2], 1<<20, 2000); err == nil {
		t.Fatal("a JPEG cut in half went through Fit")
	}
}

// prepare runs the intake with its defaults and a budget of its own.
func prepare(data []byte) (ocr.Photo, error) {
	return ocr.NewIntake(ocr.IntakeLimits{}, ocr.NewBudget(0, time.Second)).Prepare(context.Background(), data)
}
