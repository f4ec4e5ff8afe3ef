package ocr

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	xdraw "golang.org/x/image/draw"
)

// ShrinkSide is the longest side an image is brought to when it has to be
// re-encoded anyway (too many bytes, too many pixels for a vendor, turned
// by its EXIF, a BMP). 2048 px across a photo leaves a card's smallest
// characters tens of pixels tall, which every vendor reads; more costs
// memory and upload time and reads no better.
const ShrinkSide = 2048

// shrinkedSize is the size shrink gives an image of w×h for side.
func shrinkedSize(w, h, side int) (int, int) {
	long := max(w, h)
	if long <= side {
		return w, h
	}
	return max(1, int(math.Round(float64(w)*float64(side)/float64(long)))),
		max(1, int(math.Round(float64(h)*float64(side)/float64(long))))
}

// shrinkWork is the memory shrink allocates for a w×h source brought to
// side: the box-averaged intermediate (gray sources stay one byte a pixel)
// and the RGBA result.
func shrinkWork(w, h, side int, gray bool) int64 {
	dw, dh := shrinkedSize(w, h, side)
	work := int64(dw) * int64(dh) * 4
	if k := boxFactor(w, h, side); k > 1 {
		bpp := int64(4)
		if gray {
			bpp = 1
		}
		work += int64(w/k+1)*int64(h/k+1)*bpp + int64(w)*int64(k)*4
	}
	return work
}

// boxFactor is the integer factor the box pre-shrink divides by: the
// largest that keeps the intermediate at least as large as the result, so
// the bilinear step after it shrinks by less than two and aliases nothing.
func boxFactor(w, h, side int) int {
	long := max(w, h)
	if long <= side {
		return 1
	}
	return max(1, long/side)
}

// shrink draws img onto a white RGBA canvas whose longer side is at most
// side, keeping the aspect ratio (transparent areas look like paper).
//
// Large factors go through an integer box average first and then bilinear
// interpolation for the remaining factor (under two). A kernel filter such
// as x/image/draw's CatmullRom allocates dst-width × src-height × 32 bytes
// of float temporaries (790 MB for a 6320 px square brought to 4096) and
// disintegration/imaging's Resize dst-width × src-height × 4; the box
// average reads the source a few rows at a time and keeps only its
// result. BenchmarkShrink compares the three.
func shrink(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := shrinkedSize(w, h, side)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	if dw == w && dh == h {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
		return dst
	}
	src := img
	if k := boxFactor(w, h, side); k > 1 {
		src = boxShrink(img, k)
	} else if !opaque(img) {
		// ApproxBiLinear composes Over a white canvas the same way.
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	}
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Over, nil)
	return dst
}

// opaque reports whether img has no transparent pixel by its type alone.
func opaque(img image.Image) bool {
	switch m := img.(type) {
	case *image.Gray, *image.Gray16, *image.YCbCr, *image.CMYK:
		return true
	case interface{ Opaque() bool }:
		return m.Opaque()
	}
	return false
}

// boxShrink averages k×k blocks of img (composited over white) into an
// image 1/k of its size: *image.Gray for gray sources, else *image.RGBA.
// Rows are converted k at a time through a strip, so the source is never
// copied whole.
func boxShrink(img image.Image, k int) image.Image {
	b := img.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	strip := image.NewRGBA(image.Rect(0, 0, w*k, k))
	sums := make([]uint32, 4*w)
	var gray *image.Gray
	var rgba *image.RGBA
	_, isGray := img.(*image.Gray)
	_, isGray16 := img.(*image.Gray16)
	if isGray || isGray16 {
		gray = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		rgba = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	op := draw.Over
	if opaque(img) {
		op = draw.Src
	}
	n := uint32(k * k)
	for y := 0; y < h; y++ {
		if op == draw.Over {
			draw.Draw(strip, strip.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		}
		draw.Draw(strip, strip.Bounds(), img, image.Pt(b.Min.X, b.Min.Y+y*k), op)
		clear(sums)
		for r := 0; r < k; r++ {
			row := strip.Pix[r*strip.Stride : r*strip.Stride+4*w*k]
			for x := 0; x < w; x++ {
				s := sums[4*x : 4*x+4 : 4*x+4]
				p := row[4*x*k : 4*(x+1)*k]
				for i := 0; i < len(p); i += 4 {
					s[0] += uint32(p[i])
					s[1] += uint32(p[i+1])
					s[2] += uint32(p[i+2])
					s[3] += uint32(p[i+3])
				}
			}
		}
		if gray != nil {
			out := gray.Pix[y*gray.Stride : y*gray.Stride+w]
			for x := range out {
				out[x] = uint8((sums[4*x] + n/2) / n)
			}
			continue
		}
		out := rgba.Pix[y*rgba.Stride : y*rgba.Stride+4*w]
		for i := range out {
			out[i] = uint8((sums[i] + n/2) / n)
		}
	}
	if gray != nil {
		return gray
	}
	return rgba
}
