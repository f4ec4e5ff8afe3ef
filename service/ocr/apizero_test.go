package ocr

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"realname/sandbox"
	"realname/service/vendorcode"
	"realname/testdata/idcard"
)

// vendorCards hashes the sample cards once per test binary for the
// apizero and apistore fakes.
var vendorCards = sync.OnceValues(sandbox.LoadCards)

const apizeroCalls = "apizero POST /apizero/api/ocr-idcard"

// apizeroSandbox starts a sandbox with the apizero fake and returns it, the
// fake and the API root a client should use.
func apizeroSandbox(t *testing.T) (*sandbox.Server, *sandbox.Apizero, string) {
	t.Helper()
	cards, err := vendorCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	fake := sandbox.NewApizero(cards, sandbox.SandboxApizeroKey)
	fake.Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vendorClose(srv) })
	return srv, fake, srv.URL() + sandbox.ApizeroPrefix
}

// vendorClose stops a sandbox without waiting for requests held by the
// timeout fault: the server may not notice their client is gone while
// their body is unread, and would hold them for two minutes.
func vendorClose(srv *sandbox.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = srv.Close(ctx)
}

// apizeroUnlimited is a client without the 2 req/s spacing, for tests that
// make many calls; TestApizeroRateLimit covers the spacing.
func apizeroUnlimited(base, key string, timeout time.Duration) *Apizero {
	p := NewApizero(base, key, &http.Client{Timeout: timeout})
	p.SetRateLimit(rate.Inf, 1)
	return p
}

func vendorSamples(t *testing.T) []idcard.Card {
	t.Helper()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	return cards
}

func vendorImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := idcard.Image(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// vendorWantErr fails unless err is an *Error of provider, kind and code,
// and (for every kind) its text reveals neither a card's details, the
// photo nor a credential.
func vendorWantErr(t *testing.T, what string, err error, provider string, kind error, code string, secrets ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.Provider != provider || e.Code != code {
		t.Errorf("%s: got %v, want %s %v with code %q", what, err, provider, kind, code)
		return
	}
	if Definitive(err) != (kind != ErrProvider) {
		t.Errorf("%s: Definitive = %v for %v", what, Definitive(err), kind)
	}
	msg := err.Error()
	for _, c := range vendorSamples(t) {
		secrets = append(secrets, c.Name, c.IDNumber, c.Address)
	}
	for _, s := range append(secrets, "iVBOR", "/9j/") { // base64 of PNG and JPEG headers
		if strings.Contains(msg, s) {
			t.Errorf("%s: error %q reveals %q", what, msg, s)
		}
	}
}

// vendorCheckCard compares a result with a sample card's cards.json entry.
func vendorCheckCard(t *testing.T, what string, got Fields, c idcard.Card, side Side) {
	t.Helper()
	want := Fields{Side: side}
	if side == SideFront {
		want.Name, want.Sex, want.Ethnicity, want.Birth = c.Name, c.Sex, c.Ethnicity, c.Birth
		want.Address, want.IDNumber = c.Address, c.IDNumber
	} else {
		want.Authority, want.ValidFrom = c.Authority, c.ValidFrom
		if c.ValidTo == "长期" {
			want.LongTerm = true
		} else {
			want.ValidTo = c.ValidTo
		}
	}
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestApizeroReadsEverySample(t *testing.T) {
	_, _, base := apizeroSandbox(t)
	p := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 10*time.Second)
	if p.Name() != "apizero" {
		t.Errorf("Name = %q", p.Name())
	}
	longTerm := false
	for i, c := range vendorSamples(t) {
		for _, f := range []struct {
			name string
			side Side
		}{{c.Front, SideFront}, {c.Back, SideBack}} {
			asked := f.side // every other card leaves the side to the vendor
			if i%2 == 1 {
				asked = SideAuto
			}
			res, err := p.Recognize(context.Background(), Request{Image: vendorImage(t, f.name), Side: asked})
			if err != nil {
				t.Errorf("%s asked %q: %v", f.name, asked, err)
				continue
			}
			vendorCheckCard(t, f.name, res.Fields, c, f.side)
			if res.Provider != ApizeroName || len(res.Warnings) != 0 {
				t.Errorf("%s: provider %q warnings %v", f.name, res.Provider, res.Warnings)
			}
			longTerm = longTerm || res.LongTerm
		}
	}
	if !longTerm {
		t.Error("no sample came back LongTerm; the 长期 path went untested")
	}
}

func TestApizeroWrongSideWarns(t *testing.T) {
	_, _, base := apizeroSandbox(t)
	p := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 10*time.Second)
	c := vendorSamples(t)[0]
	res, err := p.Recognize(context.Background(), Request{Image: vendorImage(t, c.Back), Side: SideFront})
	if err != nil {
		t.Fatal(err)
	}
	if res.Side != SideBack || !slices.Equal(res.Warnings, []string{WarnWrongSide}) {
		t.Errorf("got side %q warnings %v, want back and [wrong_side]", res.Side, res.Warnings)
	}
}

func TestApizeroDefinitiveAnswers(t *testing.T) {
	srv, _, base := apizeroSandbox(t)
	p := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 10*time.Second)
	_, err := p.Recognize(context.Background(), Request{Image: idcard.NotACard()})
	vendorWantErr(t, "not a card", err, ApizeroName, ErrNoCard, "5021")

	// A file that is no image never reaches the vendor.
	before := srv.Calls()[apizeroCalls]
	_, err = p.Recognize(context.Background(), Request{Image: []byte("GIF89a not really")})
	vendorWantErr(t, "not an image", err, ApizeroName, ErrBadImage, "")
	if n := srv.Calls()[apizeroCalls]; n != before {
		t.Errorf("a bad image made %d calls", n-before)
	}
}

func TestApizeroProviderFailures(t *testing.T) {
	srv, _, base := apizeroSandbox(t)
	req := Request{Image: vendorImage(t, vendorSamples(t)[0].Front)}
	ctx := context.Background()

	for _, key := range []string{"wrong-key", ""} {
		_, err := apizeroUnlimited(base, key, 5*time.Second).Recognize(ctx, req)
		vendorWantErr(t, "key "+key, err, ApizeroName, ErrProvider, "4010", "wrong-key")
	}

	p := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 300*time.Millisecond)
	for _, tc := range []struct{ mode, code string }{
		{sandbox.ModeError, "5020"},
		{sandbox.ModeQuota, "4291"},
		{sandbox.ModeTimeout, ""},
	} {
		if err := srv.SetFault(sandbox.Fault{Upstream: sandbox.ApizeroUpstream, Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		_, err := p.Recognize(ctx, req)
		vendorWantErr(t, tc.mode, err, ApizeroName, ErrProvider, tc.code, sandbox.SandboxApizeroKey)
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.ApizeroUpstream, Mode: sandbox.ModeOK})

	// The context's deadline ends a held call too, and stays visible.
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.ApizeroUpstream, Mode: sandbox.ModeTimeout})
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 10*time.Second).Recognize(tctx, req)
	if !errors.Is(err, ErrProvider) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context timeout: got %v", err)
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.ApizeroUpstream, Mode: sandbox.ModeOK})
	// A client of the usual patience: 300 ms is the fault cases' budget,
	// too short for a real answer on a loaded machine.
	if _, err := apizeroUnlimited(base, sandbox.SandboxApizeroKey, 10*time.Second).Recognize(ctx, req); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

// TestApizeroRateLimit checks the client spaces its calls to 2 per second:
// five calls take at least two seconds, and a fake enforcing the limit
// refuses none of them.
func TestApizeroRateLimit(t *testing.T) {
	srv, fake, base := apizeroSandbox(t)
	fake.EnforceRate(true)
	p := NewApizero(base, sandbox.SandboxApizeroKey, nil)
	req := Request{Image: vendorImage(t, vendorSamples(t)[0].Front)}
	start := time.Now()
	for i := range 5 {
		if _, err := p.Recognize(context.Background(), req); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if d := time.Since(start); d < 1950*time.Millisecond {
		t.Errorf("5 calls took %v, want >= 2s at 2 req/s", d)
	}

	// A deadline shorter than the wait fails at once, without a call. The
	// limit is one an hour on a fresh client whose one turn is spent: at
	// 2 req/s a busy machine may already have earned the next turn while
	// the calls above ran.
	p = NewApizero(base, sandbox.SandboxApizeroKey, nil)
	p.SetRateLimit(rate.Every(time.Hour), 1)
	if _, err := p.Recognize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	before := srv.Calls()[apizeroCalls]
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Recognize(ctx, req)
	vendorWantErr(t, "wait past deadline", err, ApizeroName, ErrProvider, "")
	if n := srv.Calls()[apizeroCalls]; n != before {
		t.Errorf("a call was made despite the deadline")
	}
}

func TestApizeroAnswerShapes(t *testing.T) {
	one, zero := new(vendorcode.Code(1)), new(vendorcode.Code(0))
	for _, tc := range []struct {
		name string
		data apizeroData
		want Fields
		ok   bool
	}{
		{"front, dates and x normalised", apizeroData{Side: one, IdentityName: " 张三 ", IdentityCode: "11010519491231002x",
			Gender: "男", Race: "汉族", Birth: "1949年12月31日", Address: "北京市"},
			Fields{Side: SideFront, Name: "张三", IDNumber: "11010519491231002X", Sex: "男", Ethnicity: "汉",
				Birth: "1949-12-31", Address: "北京市"}, true},
		{"front without birth takes it from the number", apizeroData{Side: one, IdentityName: "张三", IdentityCode: "110105194912310021"},
			Fields{Side: SideFront, Name: "张三", IDNumber: "110105194912310021", Birth: "1949-12-31"}, true},
		{"back, long term", apizeroData{Side: zero, IssuedBy: "某公安局", ValidDateStart: "2012.06.05", ValidDateEnd: "长期"},
			Fields{Side: SideBack, Authority: "某公安局", ValidFrom: "2012-06-05", LongTerm: true}, true},
		{"back, side null", apizeroData{IssuedBy: "某公安局", ValidDateStart: "20160820", ValidDateEnd: "2036-08-20"},
			Fields{Side: SideBack, Authority: "某公安局", ValidFrom: "2016-08-20", ValidTo: "2036-08-20"}, true},
		{"side 1 but nothing read", apizeroData{Side: one}, Fields{}, false},
		{"no side, no fields", apizeroData{}, Fields{}, false},
	} {
		res, err := apizeroResult(tc.data)
		if (err == nil) != tc.ok || res.Fields != tc.want {
			t.Errorf("%s: got %+v, %v", tc.name, res.Fields, err)
		}
	}
	for in, want := range map[string]string{
		"1990/5/14": "1990-05-14", "19900514": "1990-05-14", "1990.05.14": "1990-05-14",
		"1990年5月14日": "1990-05-14", "": "", "长期": "", "1990-02-30": "", "199005": "",
	} {
		if got := cardDate(in); got != want {
			t.Errorf("cardDate(%q) = %q, want %q", in, got, want)
		}
	}
}
