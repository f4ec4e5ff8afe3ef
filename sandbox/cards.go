package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/bits"

	"realname/testdata/idcard"
)

// Side names the face of an ID card an image shows.
type Side string

// The two faces of a resident ID card.
const (
	SideFront Side = "front" // portrait side: name, sex, ethnicity, birth, address, number
	SideBack  Side = "back"  // emblem side: issuing authority and validity
)

// Errors Recognize returns, so each fake can map them to its upstream's own code.
var (
	// ErrNotImage means the bytes are not a PNG or JPEG image.
	ErrNotImage = errors.New("sandbox: not a PNG or JPEG image")
	// ErrImageTooLarge means the image header announces more pixels than
	// the fakes are willing to decode.
	ErrImageTooLarge = errors.New("sandbox: image has too many pixels")
	// ErrNoCard means the image decodes but looks like none of the sample cards.
	ErrNoCard = errors.New("sandbox: image matches no sample card")
)

const (
	// maxImagePixels bounds decoding: a 100-byte file can announce a
	// 60000x60000 image, and the fakes must not allocate for it.
	maxImagePixels = 40_000_000
	// maxMatchDistance is the largest Hamming distance still taken for a
	// sample. The samples are >= 20 bits apart and re-encoding drifts a few
	// bits, so 10 accepts every honest copy and never confuses two cards.
	maxMatchDistance = 10
	hashCols         = 9
	hashRows         = 8
)

// Cards recognises the synthetic sample cards of testdata/idcard by a
// difference hash, the way the fakes "read" an uploaded photo. It is
// immutable after LoadCards, so one value may serve any number of
// goroutines.
type Cards struct {
	refs []cardRef
}

type cardRef struct {
	hash uint64
	card idcard.Card
	side Side
}

// LoadCards hashes the front and back image of every sample card once.
func LoadCards() (*Cards, error) {
	cards, err := idcard.Cards()
	if err != nil {
		return nil, err
	}
	c := &Cards{}
	for _, card := range cards {
		for _, f := range []struct {
			name string
			side Side
		}{{card.Front, SideFront}, {card.Back, SideBack}} {
			data, err := idcard.Image(f.name)
			if err != nil {
				return nil, err
			}
			img, err := decodeBounded(data)
			if err != nil {
				return nil, fmt.Errorf("sandbox: sample %s: %w", f.name, err)
			}
			h, ok := dHash(img)
			if !ok {
				return nil, fmt.Errorf("sandbox: sample %s is too small to hash", f.name)
			}
			c.refs = append(c.refs, cardRef{hash: h, card: card, side: f.side})
		}
	}
	return c, nil
}

// Match returns the sample card and side img shows, or ok=false when img
// is not an image or matches no sample.
func (c *Cards) Match(img []byte) (card idcard.Card, side Side, ok bool) {
	card, side, err := c.Recognize(img)
	return card, side, err == nil
}

// Recognize is Match with the reason for a miss: ErrNotImage,
// ErrImageTooLarge or ErrNoCard (possibly wrapped), which fakes answer with
// different upstream codes.
func (c *Cards) Recognize(data []byte) (idcard.Card, Side, error) {
	img, err := decodeBounded(data)
	if err != nil {
		return idcard.Card{}, "", err
	}
	h, ok := dHash(img)
	if !ok {
		return idcard.Card{}, "", ErrNoCard
	}
	best, bestDist := -1, maxMatchDistance+1
	for i, ref := range c.refs {
		if d := bits.OnesCount64(h ^ ref.hash); d < bestDist {
			best, bestDist = i, d
		}
	}
	if best < 0 {
		return idcard.Card{}, "", ErrNoCard
	}
	return c.refs[best].card, c.refs[best].side, nil
}

// decodeBounded decodes a PNG or JPEG after checking from its header that
// the pixel count is sane. Other formats registered elsewhere in the binary
// (GIF, WebP, …) are refused: the upstreams we fake accept only these two.
func decodeBounded(data []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrImageTooLarge, cfg.Width, cfg.Height)
	}
	var img image.Image
	switch format {
	case "png":
		img, err = png.Decode(bytes.NewReader(data))
	case "jpeg":
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%w: format %s", ErrNotImage, format)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	return img, nil
}

// dHash is the 64-bit difference hash the fixtures were designed for
// (testdata/idcard's own test has the reference version): grayscale, box
// average over a 9x8 grid, one bit per horizontal neighbour pair, set when
// the left cell is brighter. ok is false for images under 9x8 pixels,
// where some cell would be empty.
func dHash(img image.Image) (h uint64, ok bool) {
	b := img.Bounds()
	if b.Dx() < hashCols || b.Dy() < hashRows {
		return 0, false
	}
	gray := grayFunc(img)
	var g [hashRows][hashCols]float64
	for r := range hashRows {
		y0, y1 := b.Min.Y+r*b.Dy()/hashRows, b.Min.Y+(r+1)*b.Dy()/hashRows
		for c := range hashCols {
			x0, x1 := b.Min.X+c*b.Dx()/hashCols, b.Min.X+(c+1)*b.Dx()/hashCols
			var sum uint64
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					sum += uint64(gray(x, y))
				}
			}
			g[r][c] = float64(sum) / float64((x1-x0)*(y1-y0))
		}
	}
	for r := range hashRows {
		for c := range hashCols - 1 {
			h <<= 1
			if g[r][c] > g[r][c+1] {
				h |= 1
			}
		}
	}
	return h, true
}

// grayFunc returns the luminance of a pixel exactly as color.GrayModel
// computes it, with fast paths for the types the PNG and JPEG decoders
// produce: going through img.At boxes every pixel, which costs more than
// the rest of a request.
func grayFunc(img image.Image) func(x, y int) uint8 {
	switch m := img.(type) {
	case *image.Gray:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	case *image.RGBA:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			return luma(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101)
		}
	case *image.NRGBA:
		return func(x, y int) uint8 {
			r, g, b, _ := m.NRGBAAt(x, y).RGBA()
			return luma(r, g, b)
		}
	case *image.YCbCr:
		return func(x, y int) uint8 {
			r, g, b, _ := m.YCbCrAt(x, y).RGBA()
			return luma(r, g, b)
		}
	default:
		return func(x, y int) uint8 {
			r, g, b, _ := img.At(x, y).RGBA()
			return luma(r, g, b)
		}
	}
}

// luma is color.GrayModel's formula on 16-bit channels.
func luma(r, g, b uint32) uint8 {
	return uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 24)
}
