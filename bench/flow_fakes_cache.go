package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"realname/sandbox"
	"realname/testdata/idcard"
)

// cachedEndpoint is an OCR endpoint whose answers the cache may reuse.
type cachedEndpoint struct {
	upstream string
	key      string // the sandbox's call counter name
	base64   bool   // the image travels base64-encoded (JSON), not raw (multipart)
	// ok tells a reusable answer: a deterministic reading of the image,
	// not an error of the moment (an expired token, say).
	ok func(status int, body []byte) bool
}

// cachedEndpoints are WeChat's OCR (the one every upload calls), apizero
// (the first fallback) and Acedata's image reading. API-store is left
// out: its answers carry a timestamp, and it is only reached in faults.
var cachedEndpoints = map[string]cachedEndpoint{
	"/cv/ocr/idcard": {upstream: sandbox.WeChatUpstream, key: "wechat POST /cv/ocr/idcard",
		ok: func(st int, b []byte) bool { return st == http.StatusOK && bytes.Contains(b, []byte(`"errcode":0,`)) }},
	sandbox.ApizeroPrefix + "/api/ocr-idcard": {upstream: sandbox.ApizeroUpstream, key: "apizero POST " + sandbox.ApizeroPrefix + "/api/ocr-idcard", base64: true,
		ok: func(st int, b []byte) bool { return st == http.StatusOK && bytes.Contains(b, []byte(`"code":0`)) }},
	acedataPath: {upstream: sandbox.AcedataUpstream, key: "acedata POST " + acedataPath, base64: true,
		ok: func(st int, _ []byte) bool { return st == http.StatusOK }},
}

// ocrCache answers an OCR call for a sample image the fake has already
// read, as the fake answered it the first time. The fakes recognise a
// photo by decoding it and hashing its pixels, milliseconds of CPU per
// call that a real vendor spends on its own machines; on the bench's two
// cores they would compete with the service under test, and at thousands
// of users they starve it. Calls served here are still counted as calls,
// a slow upstream still delays them, and an upstream told to fail is left
// to the sandbox entirely.
type ocrCache struct {
	sigs    []imageSig
	mu      sync.Mutex
	faults  map[string]sandbox.Fault
	answers map[string]cachedAnswer
	served  map[string]int // call counter name → calls answered here
}

// imageSig is a run of bytes only one sample image contains, as it
// appears in a request body.
type imageSig struct {
	img    int
	bytes  []byte
	base64 bool
}

type cachedAnswer struct {
	status      int
	contentType string
	body        []byte
}

func newOCRCache() (*ocrCache, error) {
	cards, err := idcard.Cards()
	if err != nil {
		return nil, err
	}
	c := &ocrCache{faults: map[string]sandbox.Fault{}, answers: map[string]cachedAnswer{}, served: map[string]int{}}
	img := 0
	for _, card := range cards {
		for _, name := range []string{card.Front, card.Back} {
			data, err := idcard.Image(name)
			if err != nil {
				return nil, err
			}
			c.sigs = append(c.sigs, signatures(img, data)...)
			img++
		}
	}
	return c, nil
}

// signatures are 48 bytes from the middle of the image's pixel data, raw
// and base64-encoded. The service strips metadata chunks before sending,
// which shifts the pixel data by some bytes: base64 of the run is only
// found at the shift's alignment, so the three alignments are all kept
// (and URL-escaped, for form bodies).
func signatures(img int, data []byte) []imageSig {
	mid := len(data) / 2
	out := []imageSig{{img: img, bytes: data[mid : mid+48]}}
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(data[mid+k : mid+k+48])
		out = append(out, imageSig{img: img, bytes: []byte(enc), base64: true},
			imageSig{img: img, bytes: []byte(url.QueryEscape(enc)), base64: true})
	}
	return out
}

// imageOf is the sample image body carries, or -1.
func (c *ocrCache) imageOf(body []byte, base64 bool) int {
	for _, s := range c.sigs {
		if s.base64 == base64 && bytes.Contains(body, s.bytes) {
			return s.img
		}
	}
	return -1
}

func (c *ocrCache) setFault(f sandbox.Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[f.Upstream] = f
}

// serve answers r from the cache, or lets the sandbox answer and keeps
// a reusable answer; it reports false when the request was not handled.
func (c *ocrCache) serve(w http.ResponseWriter, r *http.Request, ep cachedEndpoint, body []byte, next http.Handler) bool {
	c.mu.Lock()
	fault := c.faults[ep.upstream]
	c.mu.Unlock()
	if fault.Mode != "" && fault.Mode != sandbox.ModeOK && fault.Mode != sandbox.ModeSlow {
		return false
	}
	img := c.imageOf(body, ep.base64)
	if img < 0 {
		return false
	}
	key := fmt.Sprintf("%s|%d", r.URL.Path, img)
	c.mu.Lock()
	ans, hit := c.answers[key]
	if hit {
		c.served[ep.key]++
	}
	c.mu.Unlock()
	if !hit {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if ep.ok(rec.status, rec.body.Bytes()) {
			c.mu.Lock()
			c.answers[key] = cachedAnswer{status: rec.status, contentType: rec.Header().Get("Content-Type"), body: rec.body.Bytes()}
			c.mu.Unlock()
		}
		return true
	}
	if fault.Mode == sandbox.ModeSlow {
		sleepCtx(r.Context(), time.Duration(fault.DelayMS)*time.Millisecond)
		if r.Context().Err() != nil {
			return true
		}
	}
	w.Header().Set("Content-Type", ans.contentType)
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
	return true
}

// hits are the calls the cache answered, by the sandbox's counter name.
func (c *ocrCache) hits() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.served))
	for k, v := range c.served {
		out[k] = v
	}
	return out
}

// recorder passes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
