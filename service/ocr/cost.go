package ocr

import (
	"encoding/binary"
)

// MaxDecodeBytes bounds the memory one image may take to decode: the
// intake refuses, before decoding, any upload whose pixels would need more
// (image_too_large). Phone photos need 12–40 MB (a 12 MP JPEG with 4:2:0
// colour is 18 MB); what needs more is a 48 MP capture, a 16-bit PNG or a
// file built to exhaust memory, and none reads better for it.
const MaxDecodeBytes = 64 << 20

// decodeCost is the memory Go's decoders allocate for data's pixels, from
// its header alone: bytes per pixel of the image type the decoder returns
// (a 16-bit PNG becomes 8 bytes a pixel, a progressive JPEG keeps its
// coefficients as int32s), so a file cannot make the service reserve more
// than it was charged for.
func decodeCost(data []byte, format string, w, h int) int64 {
	px := int64(w) * int64(h)
	switch format {
	case "png":
		return px*pngBytesPerPixel(data) + int64(w)*16 // plus two row buffers
	case "jpeg":
		return jpegCost(data, w, h)
	default: // BMP: RGBA, or one byte a pixel for a palette
		return px * 4
	}
}

// pngBytesPerPixel follows image/png: gray and paletted images are one
// byte a pixel (two at 16 bits), colour ones 4 (8 at 16 bits); a tRNS
// chunk turns gray and RGB into NRGBA. Interlaced images are decoded pass
// by pass into a second image, half the size of the first at most.
func pngBytesPerPixel(data []byte) int64 {
	// IHDR follows the 8-byte signature, its data after length and type.
	if len(data) < 8+8+13 || string(data[12:16]) != "IHDR" {
		return 8
	}
	depth, ctype, interlace := data[24], data[25], data[28]
	var bpp int64
	switch ctype {
	case 0: // gray
		bpp = 1
		if depth == 16 {
			bpp = 2
		}
		if hasChunk(data, "tRNS") {
			bpp *= 4
		}
	case 3: // palette
		bpp = 1
	default: // RGB, gray+alpha, RGBA
		bpp = 4
		if depth == 16 {
			bpp = 8
		}
	}
	if interlace == 1 {
		bpp += (bpp + 1) / 2
	}
	return bpp
}

// hasChunk reports whether a chunk of typ comes before the image data.
func hasChunk(data []byte, typ string) bool {
	for i := 8; i+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		t := string(data[i+4 : i+8])
		if t == typ {
			return true
		}
		if t == "IDAT" || n < 0 || n > len(data) {
			return false
		}
		i += 12 + n
	}
	return false
}

// jpegCost reads the frame header: each component's plane at its sampling
// (4:2:0 colour is 1.5 bytes a pixel), a CMYK image converted once more at
// 4 bytes a pixel, and for a progressive scan 64 int32 coefficients per
// 8×8 block, kept until the last scan.
func jpegCost(data []byte, w, h int) int64 {
	comps, progressive := jpegFrame(data)
	if len(comps) == 0 {
		return int64(w) * int64(h) * 8
	}
	hmax, vmax := 1, 1
	for _, c := range comps {
		hmax, vmax = max(hmax, c[0]), max(vmax, c[1])
	}
	// Planes are allocated in whole MCUs.
	mw, mh := int64((w+8*hmax-1)/(8*hmax)), int64((h+8*vmax-1)/(8*vmax))
	var samples int64
	for _, c := range comps {
		samples += mw * 8 * int64(c[0]) * mh * 8 * int64(c[1])
	}
	cost := samples
	if len(comps) == 4 {
		cost += int64(w) * int64(h) * 4
	}
	if progressive {
		cost += samples * 4
	}
	return cost
}

// jpegFrame returns the sampling factors of each component in the SOF
// segment and whether it is progressive; nothing when there is none.
func jpegFrame(data []byte) (comps [][2]int, progressive bool) {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return nil, false
		}
		marker := data[i+1]
		if marker == 0xFF {
			i++
			continue
		}
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || marker == 0xD9 || n < 2 || i+2+n > len(data) {
			return nil, false
		}
		seg := data[i+4 : i+2+n]
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			if len(seg) < 6 {
				return nil, false
			}
			nf := int(seg[5])
			if nf < 1 || nf > 4 || len(seg) < 6+3*nf {
				return nil, false
			}
			for k := range nf {
				f := seg[6+3*k+1]
				comps = append(comps, [2]int{max(1, int(f>>4)), max(1, int(f&15))})
			}
			return comps, marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
		}
		i += 2 + n
	}
	return nil, false
}
