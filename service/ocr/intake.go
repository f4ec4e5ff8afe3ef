package ocr

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp" // registers BMP with image.DecodeConfig
)

// ErrUnsupportedType means the upload is not a JPEG, PNG or BMP, judged by
// its content, never by the name or header the client sent.
var ErrUnsupportedType = errors.New("ocr: not a JPEG, PNG or BMP image")

// Photo is an upload made ready for the providers.
type Photo struct {
	Data   []byte // JPEG or PNG, metadata stripped, upright
	Type   string // "image/jpeg" or "image/png"
	Width  int
	Height int
	// SHA256 is of the bytes as uploaded, so an identical re-upload is
	// recognised before any work; key it (pii.KeyRing.Hash) before storing.
	SHA256 [32]byte
}

// IntakeLimits bound what Prepare accepts.
type IntakeLimits struct {
	MaxPixels int // width×height; refuses decompression bombs before decoding (default 40 MP)
	MinSide   int // shorter side in pixels (default 200): smaller cannot be read
}

// Prepare checks an upload and normalises it without re-encoding when it
// can: a JPEG or PNG is passed on with its metadata (EXIF with GPS, camera
// serials; PNG text chunks) cut out losslessly; a JPEG whose EXIF says it is
// rotated, and any BMP, is decoded, turned upright and re-encoded.
func Prepare(data []byte, lim IntakeLimits) (Photo, error) {
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = 40_000_000
	}
	if lim.MinSide <= 0 {
		lim.MinSide = 200
	}
	p := Photo{SHA256: sha256.Sum256(data)}
	sniffed := http.DetectContentType(data)
	if sniffed != "image/jpeg" && sniffed != "image/png" && sniffed != "image/bmp" {
		return Photo{}, ErrUnsupportedType
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > lim.MaxPixels {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Code: "too_many_pixels",
			Err: fmt.Errorf("%dx%d exceeds %d pixels", cfg.Width, cfg.Height, lim.MaxPixels)}
	}
	if min(cfg.Width, cfg.Height) < lim.MinSide {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Code: "too_small",
			Err: fmt.Errorf("%dx%d is under %d pixels on a side", cfg.Width, cfg.Height, lim.MinSide)}
	}
	p.Width, p.Height = cfg.Width, cfg.Height
	switch sniffed {
	case "image/jpeg":
		stripped, orient, err := stripJPEG(data)
		if err != nil {
			return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
		}
		if orient <= 1 {
			p.Data, p.Type = stripped, "image/jpeg"
			return p, nil
		}
		return reencode(p, data, "image/jpeg")
	case "image/png":
		stripped, err := stripPNG(data)
		if err != nil {
			return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
		}
		p.Data, p.Type = stripped, "image/png"
		return p, nil
	default: // BMP: no provider takes it
		return reencode(p, data, "image/png")
	}
}

// reencode decodes (applying EXIF orientation) and writes a clean image.
func reencode(p Photo, data []byte, typ string) (Photo, error) {
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
	}
	var buf bytes.Buffer
	if typ == "image/jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return Photo{}, fmt.Errorf("ocr: encode: %w", err)
	}
	b := img.Bounds()
	p.Data, p.Type, p.Width, p.Height = buf.Bytes(), typ, b.Dx(), b.Dy()
	return p, nil
}

// stripJPEG copies a JPEG without its APP1–APP13, APP15 and COM segments
// (EXIF, XMP, ICC is APP2 and goes too: providers assume sRGB) and returns
// the EXIF orientation it saw (0 when none). APP0 (JFIF) is kept, and so is
// APP14 (Adobe): it says how a CMYK or YCCK image's colours decode, and
// holds no metadata.
func stripJPEG(data []byte) ([]byte, int, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, 0, errors.New("jpeg: no SOI marker")
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	orient := 0
	i := 2
	for {
		if i+4 > len(data) || data[i] != 0xFF {
			return nil, 0, errors.New("jpeg: malformed segment")
		}
		marker := data[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan: the rest is image data
			return append(out, data[i:]...), orient, nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, 0, errors.New("jpeg: segment overruns the file")
		}
		seg := data[i : i+2+n]
		switch {
		case marker == 0xE1:
			if o := exifOrientation(seg[4:]); o != 0 {
				orient = o
			}
		case marker == 0xEE: // Adobe: the colour transform
			out = append(out, seg...)
		case marker >= 0xE2 && marker <= 0xEF, marker == 0xFE:
		default:
			out = append(out, seg...)
		}
		i += 2 + n
	}
}

// exifOrientation reads tag 0x0112 from IFD0 of an APP1 Exif payload.
func exifOrientation(b []byte) int {
	if len(b) < 14 || string(b[:6]) != "Exif\x00\x00" {
		return 0
	}
	t := b[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// pngKeep lists the ancillary chunks that change how the image looks;
// every other ancillary chunk (text, time, EXIF) is metadata and dropped.
var pngKeep = map[string]bool{"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "sBIT": true, "bKGD": true, "pHYs": true}

// stripPNG copies a PNG keeping critical chunks and pngKeep.
func stripPNG(data []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(data) < len(sig) || string(data[:len(sig)]) != sig {
		return nil, errors.New("png: bad signature")
	}
	out := append(make([]byte, 0, len(data)), data[:len(sig)]...)
	for i := len(sig); i < len(data); {
		if i+12 > len(data) {
			return nil, errors.New("png: truncated chunk")
		}
		n := int(binary.BigEndian.Uint32(data[i:]))
		end := i + 12 + n
		if n < 0 || end > len(data) || end < i {
			return nil, errors.New("png: chunk overruns the file")
		}
		typ := string(data[i+4 : i+8])
		critical := typ[0] >= 'A' && typ[0] <= 'Z'
		if critical || pngKeep[typ] {
			out = append(out, data[i:end]...)
		}
		if typ == "IEND" {
			return out, nil
		}
		i = end
	}
	return nil, errors.New("png: no IEND chunk")
}
