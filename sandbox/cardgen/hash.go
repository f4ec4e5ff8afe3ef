package main

import (
	"image"
	"math"
)

// cellMeans is the 9x8 box-filtered luminance grid a difference hash is
// computed from. It mirrors the test's hash so the generator can reject
// designs before they reach the fixtures, not after.
func cellMeans(img *image.RGBA) [gridRows][gridCols]float64 {
	var g [gridRows][gridCols]float64
	b := img.Rect
	for r := range gridRows {
		for c := range gridCols {
			x0, x1 := b.Min.X+c*b.Dx()/gridCols, b.Min.X+(c+1)*b.Dx()/gridCols
			y0, y1 := b.Min.Y+r*b.Dy()/gridRows, b.Min.Y+(r+1)*b.Dy()/gridRows
			sum := 0.0
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					i := img.PixOffset(x, y)
					p := img.Pix[i : i+3 : i+3]
					sum += 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
				}
			}
			g[r][c] = sum / float64((x1-x0)*(y1-y0))
		}
	}
	return g
}

// renderedHash returns the difference hash of img and the smallest gap
// between any two compared cells: the gap is how much re-encoding noise or a
// different resampler the bit that is closest to flipping can absorb.
func renderedHash(img *image.RGBA) (code uint64, margin float64) {
	g := cellMeans(img)
	margin = math.Inf(1)
	for r := range gridRows {
		for c := range gridCols - 1 {
			code <<= 1
			if g[r][c] > g[r][c+1] {
				code |= 1
			}
			margin = math.Min(margin, math.Abs(g[r][c]-g[r][c+1]))
		}
	}
	return code, margin
}
