package ocr

import (
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"
	xdraw "golang.org/x/image/draw"
)

// BenchmarkShrink brings a 6320 px square (the measured attack; gray as
// it decodes from the PNG, and YCbCr 4:2:0 as from a JPEG) to ShrinkSide
// three ways: x/image/draw's CatmullRom kernel (what Fit used), imaging's
// Resize with its Lanczos filter, and shrink (box average, then bilinear).
// B/op is the point: the kernels allocate hundreds of MB of temporaries.
func BenchmarkShrink(b *testing.B) {
	const side = 6320
	gray := image.NewGray(image.Rect(0, 0, side, side))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, side, side), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 7)
	}
	for _, src := range []struct {
		name string
		img  image.Image
	}{{"gray", gray}, {"ycbcr420", ycc}} {
		b.Run(src.name+"/catmullrom", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst := image.NewRGBA(image.Rect(0, 0, ShrinkSide, ShrinkSide))
				xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
				xdraw.CatmullRom.Scale(dst, dst.Bounds(), src.img, src.img.Bounds(), xdraw.Over, nil)
			}
		})
		b.Run(src.name+"/imaging-lanczos", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				imaging.Resize(src.img, ShrinkSide, ShrinkSide, imaging.Lanczos)
			}
		})
		b.Run(src.name+"/box-bilinear", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				shrink(src.img, ShrinkSide)
			}
		})
	}
}
