package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"realname/testdata/idcard"
)

// The fuzz targets cover every parser of outside input in this package:
// the photo intake (and the JPEG/PNG strippers, the EXIF reader, the
// decode-cost reader, Fit under it) and each vendor's answer decoder.
// Seeds are in testdata/fuzz; .ci/run runs each target for a few seconds.

func seedImages(f *testing.F) {
	cards, _ := idcard.Cards()
	front, _ := idcard.Image(cards[0].Front)
	f.Add(front)
	var b bytes.Buffer
	_ = jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 300, 220)), nil)
	f.Add(b.Bytes())
	f.Add(append(append([]byte{}, b.Bytes()...), jpegTrailer...)) // a ZIP after EOI
	b.Reset()
	_ = png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 240, 240)))
	f.Add(b.Bytes())
	f.Add(idcard.PNGClaimingAs(5000, 5000, 16, 6))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x16Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\xff\xd9"))
}

func FuzzPrepare(f *testing.F) {
	seedImages(f)
	in := NewIntake(IntakeLimits{MaxPixels: 4_000_000}, NewBudget(0, time.Second))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := in.Prepare(context.Background(), data)
		if err != nil {
			if !errors.Is(err, ErrBadImage) && !errors.Is(err, ErrUnsupportedType) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if p.Type != "image/jpeg" && p.Type != "image/png" {
			t.Fatalf("type %q", p.Type)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil || cfg.Width != p.Width || cfg.Height != p.Height || p.Width < 200 && p.Height < 200 {
			t.Fatalf("prepared %dx%d does not match its header %+v: %v", p.Width, p.Height, cfg, err)
		}
		if bytes.Contains(p.Data, []byte("Exif\x00\x00")) && p.Type == "image/jpeg" && hasAPP1(p.Data) {
			t.Fatal("EXIF survived intake")
		}
		if p.Type == "image/jpeg" && !bytes.HasSuffix(p.Data, []byte{0xFF, 0xD9}) {
			t.Fatal("bytes after EOI survived intake")
		}
	})
}

// hasAPP1 reports whether a JPEG's header segments include APP1.
func hasAPP1(data []byte) bool {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		m := data[i+1]
		if m == 0xDA {
			return false
		}
		if m == 0xE1 {
			return true
		}
		i += 2 + int(data[i+2])<<8 | int(data[i+3])
	}
	return false
}

func FuzzStripJPEG(f *testing.F) {
	seedImages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, orient, err := stripJPEG(data)
		if err != nil {
			return
		}
		if orient < 0 || orient > 8 || !bytes.HasPrefix(out, []byte{0xFF, 0xD8}) || len(out) > len(data) {
			t.Fatalf("orientation %d, %d bytes from %d", orient, len(out), len(data))
		}
		if hasAPP1(out) {
			t.Fatal("APP1 kept")
		}
		// The copy ends at EOI: it strips to itself, and what followed EOI
		// in the upload changes nothing.
		if !bytes.HasSuffix(out, []byte{0xFF, 0xD9}) {
			t.Fatal("the copy does not end with EOI")
		}
		if again, _, err := stripJPEG(out); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("stripping the copy again: %d bytes from %d, %v", len(again), len(out), err)
		}
		if more, _, err := stripJPEG(append(out[:len(out):len(out)], jpegTrailer...)); err != nil || !bytes.Equal(more, out) {
			t.Fatalf("a trailer after EOI changed the copy: %v", err)
		}
	})
}

func FuzzStripPNG(f *testing.F) {
	seedImages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := stripPNG(data)
		if err != nil {
			return
		}
		if len(out) > len(data) || !bytes.HasSuffix(out[:len(out)-4], []byte("IEND")) {
			t.Fatalf("%d bytes from %d, not ending in IEND", len(out), len(data))
		}
		for _, meta := range []string{"tEXt", "iTXt", "zTXt", "eXIf", "tIME"} {
			if hasChunk(out, meta) && !hasChunk(data, meta) {
				t.Fatalf("%s appeared", meta)
			}
		}
	})
}

func FuzzExifOrientation(f *testing.F) {
	f.Add([]byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"))
	f.Add([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00"))
	f.Add([]byte("Exif\x00\x00MM\x00*\xff\xff\xff\xf0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func FuzzDecodeCost(f *testing.F) {
	seedImages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > 40_000_000 {
			return
		}
		if cost := decodeCost(data, format, cfg.Width, cfg.Height); cost < int64(cfg.Width)*int64(cfg.Height) && format != "jpeg" {
			t.Fatalf("%s %dx%d charged %d, under one byte a pixel", format, cfg.Width, cfg.Height, cost)
		}
	})
}

func FuzzFit(f *testing.F) {
	cards, _ := idcard.Cards()
	front, _ := idcard.Image(cards[0].Front)
	f.Add(front, 20_000, 400)
	f.Add(front, 2_000_000, 4096)
	f.Add(idcard.PNGClaiming(3000, 3000), 100_000, 0)
	f.Fuzz(func(t *testing.T, data []byte, maxBytes, maxSide int) {
		maxBytes = 5_000 + abs(maxBytes)%3_000_000
		maxSide = abs(maxSide) % 5000
		out, err := Fit(data, maxBytes, maxSide)
		if err != nil {
			if !errors.Is(err, ErrBadImage) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || len(out) >= maxBytes || maxSide > 0 && max(cfg.Width, cfg.Height) > maxSide {
			t.Fatalf("%d bytes %dx%d for limits %d bytes %d px: %v", len(out), cfg.Width, cfg.Height, maxBytes, maxSide, err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the smallest int
			return 0
		}
		return -n
	}
	return n
}

// fakeVendor answers every request with the status and body set last:
// one server for the whole fuzzing process (a worker runs one input at a
// time), so an input costs one round trip, not a new listener.
type fakeVendor struct {
	mu     sync.Mutex
	status int
	body   []byte
	srv    *httptest.Server
}

func newFakeVendor(f *testing.F) *fakeVendor {
	v := &fakeVendor{}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		v.mu.Lock()
		status, body := v.status, v.body
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(v.srv.Close)
	return v
}

// answer sets what the next request gets; statuses outside 200–599 become 200.
func (v *fakeVendor) answer(status int, body []byte) {
	if status < 200 || status > 599 {
		status = 200
	}
	v.mu.Lock()
	v.status, v.body = status, body
	v.mu.Unlock()
}

// checkAnswer is what any vendor's answer must come to: a result of
// valid text, or an error of a known kind.
func checkAnswer(t *testing.T, res Result, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrProvider) && !errors.Is(err, ErrNoCard) && !errors.Is(err, ErrBadImage) {
			t.Fatalf("unclassified error: %v", err)
		}
		return
	}
	for _, s := range []string{res.Name, res.IDNumber, res.Address, res.Sex, res.Ethnicity, res.Authority, res.ValidFrom, res.ValidTo} {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 in the result: %q", s)
		}
	}
}

func FuzzApizeroAnswer(f *testing.F) {
	f.Add(200, []byte(`{"code":0,"data":{"name":"林浩然","id_number":"110101199005142138","sex":"男"}}`))
	f.Add(200, []byte(`{"code":"1001","message":"no card"}`))
	// Codes as strings: "0" is success like 0, a non-numeric one a failure.
	f.Add(200, []byte(`{"code":"0","data":{"side":"1","identity_name":"林浩然","identity_code":"110101199005142138"}}`))
	f.Add(200, []byte(`{"code":"ok","data":{"side":1,"identity_name":"林浩然"}}`))
	f.Add(429, []byte(`{"code":429}`))
	f.Add(200, []byte(`{"code":0,"data":{"name":"\xff\xfe"}}`))
	front, v := sampleFront(f), newFakeVendor(f)
	p := NewApizero(v.srv.URL, "k", v.srv.Client())
	p.SetRateLimit(rate.Inf, 1) // the fake has no 2 req/s quota
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		v.answer(status, body)
		res, err := p.Recognize(context.Background(), Request{Image: front, Side: SideFront})
		checkAnswer(t, res, err)
	})
}

func FuzzApistoreAnswer(f *testing.F) {
	f.Add(200, []byte(`{"error_code":10000,"reason":"成功","result":{"name":"林浩然","number":"110101199005142138","image_status":"normal"}}`))
	f.Add(200, []byte(`{"error_code":10001}`))
	f.Add(200, []byte(`{"codeid":"10000","retdata":{"姓名":"林浩然","身份证号":"110101199005142138"},"image_status":"normal","idcard_number_type":"1"}`))
	f.Add(200, []byte(`{"codeid":10000,"retdata":{"姓名":"林浩然"},"idcard_number_type":"-1"}`))
	f.Add(200, []byte(`{"codeid":"success"}`))
	f.Add(500, []byte(`<html>`))
	front, v := sampleFront(f), newFakeVendor(f)
	p := NewApistore(v.srv.URL, "app", "secret", v.srv.Client())
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		v.answer(status, body)
		res, err := p.Recognize(context.Background(), Request{Image: front, Side: SideFront})
		checkAnswer(t, res, err)
	})
}

func FuzzAcedataAnswer(f *testing.F) {
	f.Add(200, []byte(`{"result":"0","name":"林浩然","id_card":"110101199005142138","sex":"男","nation":"汉族"}`))
	f.Add(200, []byte(`{"result":0}`))
	f.Add(200, []byte(`{"result":"-1","name":"林浩然","id_card":"110101199005142138"}`))
	f.Add(200, []byte(`{"result":"zero","name":"林浩然"}`))
	f.Add(401, []byte(`{"error":{"code":"token_mismatched"}}`))
	front, v := sampleFront(f), newFakeVendor(f)
	p, err := NewAcedata(v.srv.URL, "k", v.srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		v.answer(status, body)
		res, err := p.Recognize(context.Background(), Request{Image: front, Side: SideFront})
		checkAnswer(t, res, err)
	})
}

func sampleFront(f *testing.F) []byte {
	cards, _ := idcard.Cards()
	front, err := idcard.Image(cards[0].Front)
	if err != nil {
		f.Fatal(err)
	}
	return front
}
