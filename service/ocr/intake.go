package ocr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"

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

// IntakeLimits bound what the intake accepts.
type IntakeLimits struct {
	MaxPixels int // width×height; refuses decompression bombs before decoding (default 40 MP)
	MinSide   int // shorter side in pixels (default 200): smaller cannot be read
}

// Ready limits: a photo the intake passes on is within what every vendor
// takes without re-encoding (WeChat's and Acedata's 2 MB are the
// strictest; every vendor takes 4096 px), so no provider decodes it again.
const (
	readyBytes = 2_000_000
	readySide  = 4096
)

// Intake checks and normalises uploads, within a memory budget.
type Intake struct {
	lim    IntakeLimits
	budget *Budget
}

// NewIntake returns an intake with lim whose decoding is charged to budget.
func NewIntake(lim IntakeLimits, budget *Budget) *Intake {
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = 40_000_000
	}
	if lim.MinSide <= 0 {
		lim.MinSide = 200
	}
	return &Intake{lim: lim, budget: budget}
}

// Prepare checks an upload and normalises it without re-encoding when it
// can: a JPEG or PNG within the ready limits is passed on with its
// metadata (EXIF with GPS, camera serials; PNG text chunks) cut out
// losslessly. A JPEG whose EXIF says it is turned is decoded, turned
// upright and re-encoded; a BMP is re-encoded as PNG; anything over the
// ready limits is brought to ShrinkSide and re-encoded as a JPEG under
// 2 MB. Decoding is refused when it would take more than MaxDecodeBytes
// (image_too_large) and waits for room in the budget (ErrBusy when it
// waited too long).
func (in *Intake) Prepare(ctx context.Context, data []byte) (Photo, error) {
	p := Photo{SHA256: sha256.Sum256(data)}
	sniffed := http.DetectContentType(data)
	if sniffed != "image/jpeg" && sniffed != "image/png" && sniffed != "image/bmp" {
		return Photo{}, ErrUnsupportedType
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(in.lim.MaxPixels) {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Code: "too_many_pixels",
			Err: fmt.Errorf("%dx%d exceeds %d pixels", cfg.Width, cfg.Height, in.lim.MaxPixels)}
	}
	if min(cfg.Width, cfg.Height) < in.lim.MinSide {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Code: "too_small",
			Err: fmt.Errorf("%dx%d is under %d pixels on a side", cfg.Width, cfg.Height, in.lim.MinSide)}
	}
	p.Width, p.Height = cfg.Width, cfg.Height
	clean, orientation := data, 0
	switch sniffed {
	case "image/jpeg":
		clean, orientation, err = stripJPEG(data)
		p.Type = "image/jpeg"
	case "image/png":
		clean, err = stripPNG(data)
		p.Type = "image/png"
	}
	if err != nil {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
	}
	big := len(clean) >= readyBytes || max(cfg.Width, cfg.Height) > readySide
	if sniffed != "image/bmp" && orientation <= 1 && !big {
		p.Data = clean
		return p, nil
	}
	cost := decodeCost(clean, format, cfg.Width, cfg.Height)
	if cost > MaxDecodeBytes {
		return Photo{}, &Error{Provider: "intake", Kind: ErrImageTooLarge, Code: "image_too_large",
			Err: fmt.Errorf("%dx%d %s needs %d MB to decode, over %d MB", cfg.Width, cfg.Height, format, cost>>20, MaxDecodeBytes>>20)}
	}
	gray := cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model
	work := shrinkWork(cfg.Width, cfg.Height, ShrinkSide, gray) + 2*readyBytes
	if !big {
		work = max(work, cost+int64(len(clean))) // turned planes and their encoding
	}
	release, err := in.budget.acquire(ctx, cost+work)
	if err != nil {
		return Photo{}, err
	}
	defer release()
	img, _, err := image.Decode(bytes.NewReader(clean))
	if err != nil {
		return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
	}
	if !big {
		typ := "image/jpeg"
		if sniffed == "image/bmp" {
			typ = "image/png" // lossless, as the user drew it
		}
		p.Data, err = encodeReady(orient(img, orientation), typ)
		if err != nil && !errors.Is(err, errTooBig) {
			return Photo{}, err
		}
		p.Type = typ
	}
	if p.Data == nil { // big, or a noisy image that did not compress
		p.Type = "image/jpeg"
		render := func(side int) image.Image { return orient(shrink(img, side), orientation) }
		if p.Data, err = fitJPEG(render, min(ShrinkSide, max(cfg.Width, cfg.Height)), readyBytes); err != nil {
			return Photo{}, &Error{Provider: "intake", Kind: ErrBadImage, Err: err}
		}
	}
	out, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil {
		return Photo{}, fmt.Errorf("ocr: re-encoded image: %w", err)
	}
	p.Width, p.Height = out.Width, out.Height
	return p, nil
}

// errTooBig means an encoding came out over the ready limit.
var errTooBig = errors.New("ocr: encoded image over the ready limit")

// encodeReady encodes img as typ (JPEG at quality 92) under readyBytes.
func encodeReady(img image.Image, typ string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if typ == "image/jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("ocr: encode: %w", err)
	}
	if buf.Len() >= readyBytes {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

// stripJPEG copies a JPEG up to its EOI marker without its APP1–APP13,
// APP15 and COM segments (EXIF, XMP, ICC is APP2 and goes too: providers
// assume sRGB) and returns the EXIF orientation it saw (0 when none). APP0
// (JFIF) is kept, and so is APP14 (Adobe): it says how a CMYK or YCCK
// image's colours decode, and holds no metadata.
//
// Whatever follows EOI (a ZIP appended to hide it in a photo, an editor's
// trailer) is cut: it is no part of the image, and would otherwise be
// stored and sent to every vendor. EOI is found by walking the file, not
// by searching for FF D9: a segment (an EXIF thumbnail has its own EOI) is
// skipped by its length, and in the entropy-coded data after each SOS
// (progressive files have several) FF is only ever followed by 00
// (stuffing), a restart marker or fill, so the first other marker ends the
// scan. A file with no scan, or cut before EOI, is refused.
func stripJPEG(data []byte) ([]byte, int, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, 0, errors.New("jpeg: no SOI marker")
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	orient, scanned := 0, false
	i := 2
	for {
		if i+2 > len(data) || data[i] != 0xFF {
			return nil, 0, errors.New("jpeg: malformed segment or no EOI marker")
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD9:
			if !scanned {
				return nil, 0, errors.New("jpeg: EOI before any scan")
			}
			return append(out, 0xFF, 0xD9), orient, nil
		case marker >= 0xD0 && marker <= 0xD7, marker == 0x01: // standalone: RSTn, TEM
			out = append(out, data[i:i+2]...)
			i += 2
			continue
		}
		if i+4 > len(data) {
			return nil, 0, errors.New("jpeg: malformed segment")
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
		if marker == 0xDA { // start of scan: entropy-coded data up to the next marker
			end := scanEnd(data, i)
			out = append(out, data[i:end]...)
			i, scanned = end, true
		}
	}
}

// scanEnd is the offset of the marker that ends the entropy-coded data
// starting at i, or len(data) when the file ends first. Inside the data
// FF 00 is a stuffed FF and FF D0–D7 a restart marker; FF FF is fill
// before a marker.
func scanEnd(data []byte, i int) int {
	for {
		k := bytes.IndexByte(data[i:], 0xFF)
		if k < 0 || i+k+1 >= len(data) {
			return len(data)
		}
		i += k
		switch m := data[i+1]; {
		case m == 0x00, m >= 0xD0 && m <= 0xD7:
			i += 2
		case m == 0xFF:
			i++
		default:
			return i
		}
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
		if typ == "IEND" && n != 0 {
			// IEND is empty by the specification: bytes in it are a
			// payload riding along, not image data.
			return nil, errors.New("png: IEND chunk holds data")
		}
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
