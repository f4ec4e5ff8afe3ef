package ocr

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
)

// MaxPixels is the largest image Fit decodes. A few hundred bytes of PNG
// can announce a 60000x60000 image; checking the header first keeps such a
// file from allocating gigabytes. 60 MP is above any phone camera.
const MaxPixels = 60_000_000

// fitQualities are the JPEG qualities Fit tries at one size before it
// shrinks the image: text on a card stays legible down to about 60, and
// shrinking costs legibility faster than compression does.
var fitQualities = []int{90, 80, 70, 60}

// minFitSide is the shortest longer side Fit shrinks to for the byte limit
// (maxSide may ask for less): below it the characters of a card are a few
// pixels tall and no vendor reads them.
const minFitSide = 320

// Fit returns data ready to upload to a vendor that accepts at most
// maxBytes (the result is strictly smaller; maxBytes <= 0 means no byte
// limit) and, when maxSide > 0, no side longer than maxSide pixels. A decodable PNG or JPEG already within the
// limits comes back unchanged (the same slice), so a vendor sees the user's
// original bytes whenever it can; otherwise the image is scaled down and
// re-encoded as JPEG, lowering quality and then size until it fits.
// Transparent areas become white, as they would look on paper. Every error
// is errors.Is(err, ErrBadImage): input that is not a PNG or JPEG, is
// corrupt, has more than MaxPixels, or cannot be made small enough.
func Fit(data []byte, maxBytes, maxSide int) ([]byte, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, badImage("not a PNG or JPEG image: %v", err)
	}
	// Other formats may be registered by imports elsewhere in the binary
	// (GIF, WebP, BMP); the vendors take only these two.
	if format != "png" && format != "jpeg" {
		return nil, badImage("format %s is not PNG or JPEG", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, badImage("image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, badImage("%dx%d is more than %d pixels", cfg.Width, cfg.Height, MaxPixels)
	}
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	long := max(cfg.Width, cfg.Height)
	if len(data) < maxBytes && (maxSide <= 0 || long <= maxSide) {
		// The common case, once per provider attempt: no full decode (it
		// was a third of the service's CPU under load). A cut-off upload is
		// still caught by its missing end marker; damage inside the data is
		// left for the vendor to report.
		if !complete(data, format) {
			return nil, badImage("truncated %s", format)
		}
		return data, nil
	}
	if cost := decodeCost(data, format, cfg.Width, cfg.Height); cost > MaxDecodeBytes {
		return nil, badImage("%dx%d needs %d MB to decode, over %d MB", cfg.Width, cfg.Height, cost>>20, MaxDecodeBytes>>20)
	}
	var img image.Image
	if format == "png" {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, badImage("corrupt %s: %v", format, err)
	}
	side := min(long, ShrinkSide)
	if maxSide > 0 {
		side = min(side, maxSide)
	}
	return fitJPEG(func(side int) image.Image { return shrink(img, side) }, side, maxBytes)
}

// fitJPEG encodes render(side) as JPEG under maxBytes, lowering quality
// and then side until it fits.
func fitJPEG(render func(side int) image.Image, side, maxBytes int) ([]byte, error) {
	var buf bytes.Buffer
	for {
		flat := render(side)
		for _, q := range fitQualities {
			buf.Reset()
			if err := jpeg.Encode(&buf, flat, &jpeg.Options{Quality: q}); err != nil {
				return nil, badImage("encode jpeg: %v", err)
			}
			if buf.Len() < maxBytes {
				return buf.Bytes(), nil
			}
		}
		// JPEG size grows roughly with the pixel count, so the side scales
		// with the square root of the overshoot; the extra 10% and the
		// bounds keep the loop to a few rounds either way.
		if side <= minFitSide {
			return nil, badImage("cannot be brought under %d bytes", maxBytes)
		}
		f := math.Sqrt(float64(maxBytes)/float64(buf.Len())) * 0.9
		side = max(int(float64(side)*min(max(f, 0.5), 0.9)), minFitSide)
	}
}

// imageError is a Fit failure: it matches ErrBadImage without repeating its
// text, so a provider can wrap it in an *Error that already says so.
type imageError struct{ msg string }

func (e *imageError) Error() string        { return "ocr: image: " + e.msg }
func (e *imageError) Is(target error) bool { return target == ErrBadImage }

func badImage(format string, args ...any) error {
	return &imageError{msg: fmt.Sprintf(format, args...)}
}

// complete reports whether data holds a whole file of its format: a PNG
// ends with its IEND chunk; a JPEG has its EOI marker after the start of
// its scan (within entropy-coded data 0xFF is always stuffed, so FF D9 is
// only ever EOI). Bytes after EOI, which cameras and editors write
// (padding, a second image, trailers), are allowed here; the intake has
// already cut them from an upload.
func complete(data []byte, format string) bool {
	if format == "png" {
		return bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	}
	sos := bytes.Index(data, []byte{0xFF, 0xDA})
	return sos >= 0 && bytes.LastIndex(data, []byte{0xFF, 0xD9}) > sos
}
