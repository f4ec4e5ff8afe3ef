package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"realname/sandbox"
)

// upstreams are the names the fakes register under, for SetFault; face
// verification's two WeChat endpoints have their own (wechat_face), so a
// run can fail or slow them alone.
var upstreams = []string{sandbox.WeChatUpstream, sandbox.WeChatFaceUpstream, sandbox.ApizeroUpstream, sandbox.ApistoreUpstream, sandbox.AcedataUpstream}

// acedataPath is the one endpoint Acedata serves both OCR (image_url) and
// the name/ID check (name + id_card) on.
const acedataPath = "/acedata/identity/idcard/ocr"

// fakes is one set of upstream fakes in the bench process that every
// service instance talks to, so access_tokens are shared as in production
// and every upstream call of the run is counted in one place.
type fakes struct {
	srv *sandbox.Server
	hs  *http.Server
	url string
	// aceImages counts Acedata calls carrying an image: the sandbox counts
	// calls per path, and Acedata's OCR and check share one.
	aceImages atomic.Int64
	// conns counts the TCP connections the instances opened to the fakes:
	// against the calls, it shows whether their HTTP clients reuse them
	// (each new one to a real vendor is a TLS handshake).
	conns atomic.Int64

	// The recognition cache; see cacheOCR.
	cache *ocrCache
}

// startFakes serves WeChat, apizero, API-store and Acedata on a free
// loopback port; latency > 0 delays every answer of every upstream by it.
// With cache, OCR answers are reused per sample image (see ocrCache).
func startFakes(latency time.Duration, cache bool) (*fakes, error) {
	cards, err := sandbox.LoadCards()
	if err != nil {
		return nil, err
	}
	srv := sandbox.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	sandbox.NewWeChat(cards, sandbox.WeChatOptions{}).Mount(srv)
	sandbox.NewApizero(cards, sandbox.SandboxApizeroKey).Mount(srv)
	sandbox.NewApistore(cards, sandbox.SandboxApistoreAppID, sandbox.SandboxApistoreSecret).Mount(srv)
	sandbox.NewAcedata(cards, sandbox.SandboxAcedataKey).Mount(srv)
	f := &fakes{srv: srv}
	if cache {
		if f.cache, err = newOCRCache(); err != nil {
			return nil, err
		}
	}
	if err := f.setLatency(latency); err != nil {
		return nil, err
	}
	// Served here rather than by srv.Start, to wrap the handler with the
	// Acedata split.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.url = "http://" + ln.Addr().String()
	f.hs = &http.Server{Handler: f.intercept(srv.Handler()), ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.conns.Add(1)
			}
		}}
	go func() {
		if err := f.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("bench: fakes stopped: %v\n", err)
		}
	}()
	return f, nil
}

// setLatency puts every upstream in slow mode (or back to normal for 0).
// The sandbox applies a fault to every endpoint an upstream registered, so
// token, login, OCR and check calls are all delayed alike.
func (f *fakes) setLatency(latency time.Duration) error {
	for _, u := range upstreams {
		fault := sandbox.Fault{Upstream: u, Mode: sandbox.ModeOK}
		if latency > 0 {
			fault = sandbox.Fault{Upstream: u, Mode: sandbox.ModeSlow, DelayMS: int(latency.Milliseconds())}
		}
		if err := f.setFault(fault); err != nil {
			return err
		}
	}
	return nil
}

// setFault is sandbox.Server.SetFault, also told to the cache, which must
// step aside for a failing upstream and delay a slow one.
func (f *fakes) setFault(fault sandbox.Fault) error {
	if err := f.srv.SetFault(fault); err != nil {
		return err
	}
	if f.cache != nil {
		f.cache.setFault(fault)
	}
	return nil
}

// intercept counts Acedata's image calls and, with the cache on, answers
// OCR calls for images it has seen.
func (f *fakes) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, ok := cachedEndpoints[r.URL.Path]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == acedataPath {
			if !bytes.Contains(body, []byte(`"image_url"`)) {
				next.ServeHTTP(w, r) // a name/ID check: no image, nothing to save
				return
			}
			f.aceImages.Add(1)
		}
		if f.cache == nil || !f.cache.serve(w, r, ep, body, next) {
			next.ServeHTTP(w, r)
		}
	})
}

func (f *fakes) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Slow and timeout faults hold requests: cut them after a moment.
	if err := f.hs.Shutdown(ctx); err != nil {
		_ = f.hs.Close()
	}
}

// upstreamCalls is a snapshot of the calls made to the fakes, by kind.
type upstreamCalls struct {
	token, login, ocr, check int
	// faceStart and faceQuery are WeChat's getVerifyId and queryVerifyInfo:
	// not billed per call like OCR and the check (the capability is
	// granted to the Mini Program), so outside paid.
	faceStart, faceQuery int
	conns                int // TCP connections opened
	byEndpoint           map[string]int
}

// calls classifies the sandbox counters: token endpoints, jscode2session,
// OCR (WeChat's, apizero, API-store and Acedata with an image) and the
// name/ID check (Acedata without one).
func (f *fakes) calls() upstreamCalls {
	c := upstreamCalls{byEndpoint: f.srv.Calls(), conns: int(f.conns.Load())}
	if f.cache != nil {
		for k, n := range f.cache.hits() {
			c.byEndpoint[k] += n
		}
	}
	for k, n := range c.byEndpoint {
		switch {
		case strings.HasPrefix(k, sandbox.WeChatFaceUpstream+" ") && strings.Contains(k, "getverifyid"):
			c.faceStart += n
		case strings.HasPrefix(k, sandbox.WeChatFaceUpstream+" "):
			c.faceQuery += n
		case strings.HasPrefix(k, sandbox.WeChatUpstream+" ") && strings.Contains(k, "token"):
			c.token += n
		case strings.Contains(k, "jscode2session"):
			c.login += n
		case strings.HasPrefix(k, sandbox.AcedataUpstream+" "):
			c.check += n
		default:
			c.ocr += n
		}
	}
	images := int(f.aceImages.Load())
	c.ocr += images
	c.check -= images
	return c
}

// sub is the calls made between two snapshots.
func (c upstreamCalls) sub(before upstreamCalls) upstreamCalls {
	return upstreamCalls{token: c.token - before.token, login: c.login - before.login,
		ocr: c.ocr - before.ocr, check: c.check - before.check, conns: c.conns - before.conns,
		faceStart: c.faceStart - before.faceStart, faceQuery: c.faceQuery - before.faceQuery}
}

// all is every call made.
func (c upstreamCalls) all() int {
	return c.token + c.login + c.ocr + c.check + c.faceStart + c.faceQuery
}

// paid is what vendors bill: every OCR and every name/ID check.
func (c upstreamCalls) paid() int { return c.ocr + c.check }
