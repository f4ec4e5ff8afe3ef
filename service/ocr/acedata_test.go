package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"realname/sandbox"
	"realname/service/acedata"
	"realname/testdata/idcard"
)

// acedataCards hashes the sample cards once per test binary.
var acedataCards = sync.OnceValues(sandbox.LoadCards)

// acedataCalls is the sandbox's counter name for the endpoint.
const acedataCalls = "acedata POST /acedata/identity/idcard/ocr"

// acedataSandbox starts a sandbox with the Acedata fake and returns it with
// the API root a client should use.
func acedataSandbox(t *testing.T) (*sandbox.Server, string) {
	t.Helper()
	cards, err := acedataCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	sandbox.NewAcedata(cards, sandbox.SandboxAcedataKey).Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return srv, srv.URL() + "/acedata"
}

func acedataProvider(t *testing.T, base, key string, timeout time.Duration) *Acedata {
	t.Helper()
	p, err := NewAcedata(base, key, &http.Client{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func acedataSamples(t *testing.T) []idcard.Card {
	t.Helper()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	return cards
}

func acedataImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := idcard.Image(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// acedataWantKind fails unless err is an *Error of kind with code.
func acedataWantKind(t *testing.T, what string, err, kind error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.Provider != AcedataName || e.Code != code {
		t.Errorf("%s: got %v, want %v with code %q", what, err, kind, code)
	}
}

// acedataNoPII fails if err's text holds anything printed on a sample card
// or any part of an uploaded photo.
func acedataNoPII(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, c := range acedataSamples(t) {
		for _, v := range []string{c.Name, c.IDNumber, c.Address, c.IDNumber[:6] + "*"} {
			if strings.Contains(msg, v) {
				t.Errorf("error %q reveals %q", msg, v)
			}
		}
	}
	if strings.Contains(msg, "base64") || strings.Contains(msg, sandbox.SandboxAcedataKey) {
		t.Errorf("error %q reveals the request", msg)
	}
}

func TestAcedataRecognizesEveryFront(t *testing.T) {
	_, base := acedataSandbox(t)
	p := acedataProvider(t, base, sandbox.SandboxAcedataKey, 10*time.Second)
	for i, c := range acedataSamples(t) {
		want := Fields{Side: SideFront, Name: c.Name, Sex: c.Sex, Ethnicity: c.Ethnicity,
			Birth: c.Birth, Address: c.Address, IDNumber: c.IDNumber}
		sides := []Side{SideFront}
		if i == 0 {
			sides = append(sides, SideAuto)
		}
		for _, side := range sides {
			res, err := p.Recognize(context.Background(), Request{Image: acedataImage(t, c.Front), Side: side})
			if err != nil {
				t.Errorf("%s %q: %v", c.Key, side, err)
				continue
			}
			if res.Fields != want || res.Provider != AcedataName || len(res.Warnings) != 0 {
				t.Errorf("%s %q: got %+v\nwant %+v", c.Key, side, res, want)
			}
		}
	}
}

func TestAcedataBacksAndNonCards(t *testing.T) {
	srv, base := acedataSandbox(t)
	p := acedataProvider(t, base, sandbox.SandboxAcedataKey, 10*time.Second)
	ctx := context.Background()
	back := acedataImage(t, acedataSamples(t)[0].Back)

	// A back side asked for is not sent: this vendor reads only fronts.
	_, err := p.Recognize(ctx, Request{Image: back, Side: SideBack})
	acedataWantKind(t, "back as back", err, ErrProvider, "")
	if n := srv.Calls()[acedataCalls]; n != 0 {
		t.Errorf("back side cost %d calls", n)
	}
	// A back side in auto mode reads as no fields, which is no verdict.
	_, err = p.Recognize(ctx, Request{Image: back, Side: SideAuto})
	acedataWantKind(t, "back as auto", err, ErrProvider, "-2")
	if Definitive(err) {
		t.Error("a back side in auto mode was called definitive")
	}
	// Said to be a front and no card in it: definitive.
	_, err = p.Recognize(ctx, Request{Image: idcard.NotACard(), Side: SideFront})
	acedataWantKind(t, "not a card", err, ErrNoCard, "-2")
	acedataNoPII(t, err)
	_, err = p.Recognize(ctx, Request{Image: idcard.NotACard(), Side: SideAuto})
	acedataWantKind(t, "not a card, auto", err, ErrProvider, "-2")

	// Bytes that are no image never leave.
	before := srv.Calls()[acedataCalls]
	_, err = p.Recognize(ctx, Request{Image: []byte("GIF89a not really"), Side: SideFront})
	acedataWantKind(t, "not an image", err, ErrBadImage, "")
	if n := srv.Calls()[acedataCalls]; n != before {
		t.Errorf("a non-image cost %d calls", n-before)
	}
}

// TestAcedataShrinksHeavyPhotos sends a photo over the byte limit: grain
// no PNG compresses makes the card 4 MB, and it must arrive re-encoded and
// still readable.
func TestAcedataShrinksHeavyPhotos(t *testing.T) {
	srv, base := acedataSandbox(t)
	var sent int64
	p, err := NewAcedata(base, sandbox.SandboxAcedataKey, &http.Client{Transport: acedataRecorder(func(r *http.Request) {
		sent = r.ContentLength
	})})
	if err != nil {
		t.Fatal(err)
	}
	c := acedataSamples(t)[1]
	src, _, err := image.Decode(bytes.NewReader(acedataImage(t, c.Front)))
	if err != nil {
		t.Fatal(err)
	}
	grainy := image.NewNRGBA(image.Rect(0, 0, 1284, 810)) // 1.5x the sample
	draw.NearestNeighbor.Scale(grainy, grainy.Rect, src, src.Bounds(), draw.Src, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range grainy.Pix {
		if i%4 != 3 {
			grainy.Pix[i] = uint8(min(max(int(grainy.Pix[i])+rng.IntN(61)-30, 0), 255))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grainy); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < acedataMaxBytes {
		t.Fatalf("test photo is only %d bytes", buf.Len())
	}
	res, err := p.Recognize(context.Background(), Request{Image: buf.Bytes(), Side: SideFront})
	if err != nil || res.IDNumber != c.IDNumber {
		t.Fatalf("heavy photo: %+v, %v", res, err)
	}
	if n := srv.Calls()[acedataCalls]; n != 1 {
		t.Errorf("%d calls", n)
	}
	// base64 adds a third; the JSON around it a few dozen bytes.
	if sent <= 0 || sent > acedataMaxBytes*4/3+100 {
		t.Errorf("sent %d bytes for a %d-byte photo", sent, buf.Len())
	}
}

// acedataRecorder is a transport that shows each request to see before
// sending it on.
type acedataRecorder func(r *http.Request)

func (f acedataRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

func TestAcedataProviderFailures(t *testing.T) {
	srv, base := acedataSandbox(t)
	ctx := context.Background()
	front := acedataImage(t, acedataSamples(t)[0].Front)
	req := Request{Image: front, Side: SideFront}

	_, err := acedataProvider(t, base, "not-the-key", 10*time.Second).Recognize(ctx, req)
	acedataWantKind(t, "wrong key", err, ErrProvider, "invalid_token")
	acedataNoPII(t, err)

	// The key may carry the scheme of the vendor's examples.
	if _, err := acedataProvider(t, base, "Bearer "+sandbox.SandboxAcedataKey, 10*time.Second).Recognize(ctx, req); err != nil {
		t.Errorf("Bearer key: %v", err)
	}

	p := acedataProvider(t, base, sandbox.SandboxAcedataKey, 300*time.Millisecond)
	for _, tc := range []struct{ mode, code string }{
		{sandbox.ModeError, "api_error"},
		{sandbox.ModeQuota, "-7"},
		{sandbox.ModeTimeout, ""},
	} {
		if err := srv.SetFault(sandbox.Fault{Upstream: sandbox.AcedataUpstream, Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		_, err := p.Recognize(ctx, req)
		acedataWantKind(t, tc.mode, err, ErrProvider, tc.code)
		if Definitive(err) {
			t.Errorf("%s: called definitive", tc.mode)
		}
		acedataNoPII(t, err)
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.AcedataUpstream, Mode: sandbox.ModeOK})
	// A patient client: the short one above exists for the timeout fault.
	if _, err := acedataProvider(t, base, sandbox.SandboxAcedataKey, 30*time.Second).Recognize(ctx, req); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

func TestAcedataHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		kind   error
		code   string
	}{
		{400, `{"error":{"code":"api_not_implemented","message":"image_url: cannot decode the image"}}`, ErrBadImage, "api_not_implemented"},
		{400, `{"error":{"code":"api_not_implemented","message":"image_url: the image resolution is too large"}}`, ErrBadImage, "api_not_implemented"},
		{400, `{"error":{"code":"token_mismatched","message":"Bad request, possibly due to missing or invalid parameters."}}`, ErrProvider, "token_mismatched"},
		{400, `{"error":{"code":"api_not_implemented","message":"name and id_card, or image_url, are required"}}`, ErrProvider, "api_not_implemented"},
		{401, `{"error":{"code":"invalid_token","message":"Unauthorized"},"trace_id":"x"}`, ErrProvider, "invalid_token"},
		{429, `{"error":{"code":"too_many_requests","message":"Too many requests"}}`, ErrProvider, "too_many_requests"},
		{500, `{"error":{"code":"api_error","message":"Internal server error"}}`, ErrProvider, "api_error"},
		{502, `<html>bad gateway</html>`, ErrProvider, "http_502"},
		{403, ``, ErrProvider, "http_403"},
	} {
		err := acedataHTTPError(acedata.ParseHTTPError(tc.status, []byte(tc.body)))
		acedataWantKind(t, tc.body, err, tc.kind, tc.code)
		if strings.Contains(err.Error(), "image_url") || strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("%d: error %q quotes the vendor's message", tc.status, err)
		}
	}
}

func TestAcedataNormalising(t *testing.T) {
	for in, want := range map[string]string{
		"1990/5/14": "1990-05-14", "1990-05-14": "1990-05-14", "19900514": "1990-05-14",
		"1990年5月14日": "1990-05-14", "1990.05.14": "1990-05-14", "": "", "五月": "", "1990/13/40": "",
	} {
		if got := acedataDate(in); got != want {
			t.Errorf("acedataDate(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"42010619830908028x": "42010619830908028X", " 4201 0619830908028Ｘ": "42010619830908028X"} {
		if got := acedataNormaliseID(in); got != want {
			t.Errorf("acedataNormaliseID(%q) = %q, want %q", in, got, want)
		}
	}
	for _, base := range []string{"ftp://x", "http://", "http://h/?a=1", "::"} {
		if _, err := NewAcedata(base, "k", nil); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
	if _, err := NewAcedata("", " ", nil); err == nil {
		t.Error("empty key accepted")
	}
}
