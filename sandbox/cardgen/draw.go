package main

import (
	"hash/fnv"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Card geometry: ID-1 proportions (85.60 x 53.98 mm) at 10 px/mm.
const (
	cardW = 856
	cardH = 540
	// The fakes identify images by a difference hash over a 9x8 grid, so the
	// background is laid out on exactly that grid to control every hash bit.
	gridCols = 9
	gridRows = 8
)

// tileLevels are the three gray levels of the background mosaic. Neighbours
// always differ by at least one step, so every hash bit has a margin of ~35
// gray levels: far more than text, JPEG noise or rescaling can shift it.
var tileLevels = [3]int{165, 200, 235}

// canvas wraps an RGBA image with the few blending primitives the cards
// need; everything is integer or fixed-order float maths so output is
// byte-identical between runs.
type canvas struct{ img *image.RGBA }

func newCanvas(w, h int) canvas {
	return canvas{img: image.NewRGBA(image.Rect(0, 0, w, h))}
}

// blend mixes col into pixel (x, y) with weight a in [0, 1].
func (c canvas) blend(x, y int, col color.RGBA, a float64) {
	if !(image.Point{x, y}.In(c.img.Rect)) || a <= 0 {
		return
	}
	i := c.img.PixOffset(x, y)
	p := c.img.Pix[i : i+4 : i+4]
	mix := func(dst, src uint8) uint8 {
		return uint8(math.Round(float64(dst)*(1-a) + float64(src)*a))
	}
	p[0], p[1], p[2], p[3] = mix(p[0], col.R), mix(p[1], col.G), mix(p[2], col.B), 255
}

func (c canvas) rect(r image.Rectangle, col color.RGBA, a float64) {
	r = r.Intersect(c.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c.blend(x, y, col, a)
		}
	}
}

// frame draws a rectangle outline of the given thickness.
func (c canvas) frame(r image.Rectangle, t int, col color.RGBA, a float64) {
	c.rect(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), col, a)
	c.rect(image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), col, a)
	c.rect(image.Rect(r.Min.X, r.Min.Y+t, r.Min.X+t, r.Max.Y-t), col, a)
	c.rect(image.Rect(r.Max.X-t, r.Min.Y+t, r.Max.X, r.Max.Y-t), col, a)
}

// ellipse fills the pixels whose centres fall inside the ellipse, minus an
// optional inner ellipse (inner < 1 as a fraction of the radii) for rings.
func (c canvas) ellipse(cx, cy, rx, ry, inner float64, col color.RGBA, a float64) {
	for y := int(cy - ry); y <= int(cy+ry)+1; y++ {
		for x := int(cx - rx); x <= int(cx+rx)+1; x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := dx*dx + dy*dy
			if d <= 1 && d >= inner*inner {
				c.blend(x, y, col, a)
			}
		}
	}
}

// polygon fills a simple polygon by the even-odd rule at pixel centres.
func (c canvas) polygon(pts [][2]float64, col color.RGBA, a float64) {
	minY, maxY := pts[0][1], pts[0][1]
	for _, p := range pts {
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	for y := int(minY); y <= int(maxY); y++ {
		fy := float64(y) + 0.5
		for x := c.img.Rect.Min.X; x < c.img.Rect.Max.X; x++ {
			fx := float64(x) + 0.5
			in := false
			for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
				pi, pj := pts[i], pts[j]
				if (pi[1] > fy) != (pj[1] > fy) && fx < (pj[0]-pi[0])*(fy-pi[1])/(pj[1]-pi[1])+pi[0] {
					in = !in
				}
			}
			if in {
				c.blend(x, y, col, a)
			}
		}
	}
}

// star draws a five-pointed star, the one recognisable shape of the emblem.
func (c canvas) star(cx, cy, r float64, col color.RGBA) {
	pts := make([][2]float64, 10)
	for i := range pts {
		rad := r
		if i%2 == 1 {
			rad = r * 0.4
		}
		ang := -math.Pi/2 + float64(i)*math.Pi/5
		pts[i] = [2]float64{cx + rad*math.Cos(ang), cy + rad*math.Sin(ang)}
	}
	c.polygon(pts, col, 1)
}

// text renders ASCII with the 7x13 bitmap face magnified by an integer
// scale, because basicfont is the only font available and is tiny at 1x.
// (x, y) is the left end of the baseline.
func (c canvas) text(x, y, scale int, s string, col color.RGBA) {
	face := basicfont.Face7x13
	mask := image.NewAlpha(image.Rect(0, 0, face.Advance*len(s), face.Height))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	top := y - face.Ascent*scale
	for my := 0; my < mask.Rect.Dy(); my++ {
		for mx := 0; mx < mask.Rect.Dx(); mx++ {
			a := float64(mask.AlphaAt(mx, my).A) / 255
			if a == 0 {
				continue
			}
			for sy := 0; sy < scale; sy++ {
				for sx := 0; sx < scale; sx++ {
					c.blend(x+mx*scale+sx, top+my*scale+sy, col, a)
				}
			}
		}
	}
}

// mosaic is the background design of one image: a level index per hash cell.
type mosaic [gridRows][gridCols]int

// newMosaic derives a mosaic from a seed with splitmix64, so the design
// depends only on the file name and salt and never on run order or time.
func newMosaic(name string, salt int) mosaic {
	h := fnv.New64a()
	h.Write([]byte(name))
	state := h.Sum64() + uint64(salt)*0x9e3779b97f4a7c15
	next := func() uint64 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	var m mosaic
	for r := range gridRows {
		m[r][0] = int(next() % 3)
		for c := 1; c < gridCols; c++ {
			m[r][c] = (m[r][c-1] + 1 + int(next()%2)) % 3
		}
	}
	return m
}

// paintMosaic fills the canvas with the tinted mosaic. Cell edges use the
// same integer division a box-filter resize uses, so each cell maps onto
// exactly one hash sample. Thin light waves are laid on top only to make the
// cards look less like test charts; they shift all cells alike.
func (c canvas) paintMosaic(m mosaic, tint [3]int) {
	b := c.img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		r := y * gridRows / b.Dy()
		for x := b.Min.X; x < b.Max.X; x++ {
			lv := tileLevels[m[r][x*gridCols/b.Dx()]]
			i := c.img.PixOffset(x, y)
			for ch := range 3 {
				c.img.Pix[i+ch] = uint8(min(255, max(0, lv+tint[ch])))
			}
			c.img.Pix[i+3] = 255
		}
	}
	white := color.RGBA{255, 255, 255, 255}
	for k := range 6 {
		phase := float64(k) * 0.9
		base := float64(b.Dy()) * (float64(k) + 0.5) / 6
		for x := b.Min.X; x < b.Max.X; x++ {
			y := base + 14*math.Sin(float64(x)/37+phase)
			c.blend(x, int(y), white, 0.45)
		}
	}
}
