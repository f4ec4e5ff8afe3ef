package ocr

import (
	"image"

	"github.com/disintegration/imaging"
)

// orient turns img upright for EXIF orientation o (2–8; anything else
// leaves it as it is). A JPEG's own planes (gray, or YCbCr with 4:4:4,
// 4:2:2, 4:4:0 or 4:2:0 colour) are turned plane by plane, one more copy
// of the decoded bytes; other images go through imaging, which copies them
// into NRGBA at 4 bytes a pixel.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.Gray:
		if b.Min == (image.Point{}) {
			pix, dw, dh := turnPlane(m.Pix, m.Stride, w, h, o)
			return &image.Gray{Pix: pix, Stride: dw, Rect: image.Rect(0, 0, dw, dh)}
		}
	case *image.YCbCr:
		if ratio, cw, ch, ok := turnedRatio(m.SubsampleRatio, w, h, o); ok && b.Min == (image.Point{}) {
			y, dw, dh := turnPlane(m.Y, m.YStride, w, h, o)
			cb, cs, _ := turnPlane(m.Cb, m.CStride, cw, ch, o)
			cr, _, _ := turnPlane(m.Cr, m.CStride, cw, ch, o)
			return &image.YCbCr{Y: y, Cb: cb, Cr: cr, YStride: dw, CStride: cs,
				SubsampleRatio: ratio, Rect: image.Rect(0, 0, dw, dh)}
		}
	}
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	default:
		return imaging.Rotate90(img)
	}
}

// turnedRatio gives the subsampling after orientation o and the size of
// the chroma planes before it; a quarter turn swaps 4:2:2 and 4:4:0.
func turnedRatio(r image.YCbCrSubsampleRatio, w, h, o int) (image.YCbCrSubsampleRatio, int, int, bool) {
	quarter := o >= 5
	switch r {
	case image.YCbCrSubsampleRatio444:
		return r, w, h, true
	case image.YCbCrSubsampleRatio420:
		return r, (w + 1) / 2, (h + 1) / 2, true
	case image.YCbCrSubsampleRatio422:
		if quarter {
			return image.YCbCrSubsampleRatio440, (w + 1) / 2, h, true
		}
		return r, (w + 1) / 2, h, true
	case image.YCbCrSubsampleRatio440:
		if quarter {
			return image.YCbCrSubsampleRatio422, w, (h + 1) / 2, true
		}
		return r, w, (h + 1) / 2, true
	}
	return r, 0, 0, false
}

// turnPlane copies the w×h plane src (rows stride apart) turned by EXIF
// orientation o and returns it with its width (= stride) and height.
func turnPlane(src []byte, stride, w, h, o int) ([]byte, int, int) {
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := make([]byte, dw*dh)
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+w]
		for x, v := range row {
			var X, Y int
			switch o {
			case 2:
				X, Y = w-1-x, y
			case 3:
				X, Y = w-1-x, h-1-y
			case 4:
				X, Y = x, h-1-y
			case 5:
				X, Y = y, x
			case 6:
				X, Y = h-1-y, x
			case 7:
				X, Y = h-1-y, w-1-x
			default:
				X, Y = y, w-1-x
			}
			dst[Y*dw+X] = v
		}
	}
	return dst, dw, dh
}
