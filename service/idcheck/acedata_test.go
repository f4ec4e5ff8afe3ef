package idcheck

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"realname/sandbox"
	"realname/service/acedata"
	"realname/testdata/idcard"
)

// acedataCards hashes the sample cards once per test binary.
var acedataCards = sync.OnceValues(sandbox.LoadCards)

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

func acedataSample(t *testing.T, key string) idcard.Card {
	t.Helper()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no sample card %q", key)
	return idcard.Card{}
}

// acedataWantErr fails unless err is an *Error of kind with code, and its
// text holds neither name nor number.
func acedataWantErr(t *testing.T, what string, err, kind error, code, name, number string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.Provider != AcedataName || e.Code != code {
		t.Errorf("%s: got %v, want %v with code %q", what, err, kind, code)
		return
	}
	msg := err.Error()
	for _, pii := range []string{name, number, number[:6] + "*", number[10:]} {
		if strings.Contains(msg, pii) {
			t.Errorf("%s: error %q reveals %q", what, msg, pii)
		}
	}
}

func TestAcedataCheckOutcomes(t *testing.T) {
	_, base := acedataSandbox(t)
	p := acedataProvider(t, base, sandbox.SandboxAcedataKey, 10*time.Second)
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Result{
		"match":     {Outcome: Match, Code: "0", Charged: true},
		"mismatch":  {Outcome: Mismatch, Code: "-1", Charged: true},
		"no_record": {Outcome: NoRecord, Code: "-5"},
	}
	for _, c := range cards {
		w := want[c.Check]
		w.Provider = AcedataName
		got, err := p.Check(context.Background(), c.Name, c.IDNumber)
		if err != nil || got != w {
			t.Errorf("%s: %+v, %v; want %+v", c.Key, got, err, w)
		}
	}

	male, xdigit := acedataSample(t, "male"), acedataSample(t, "xdigit")
	for _, tc := range []struct {
		what, name, number string
		want               Result
	}{
		{"another name", "张三", male.IDNumber, Result{Outcome: Mismatch, Code: "-1", Charged: true}},
		{"lower-case x, spaces", " " + xdigit.Name + " ", strings.ToLower(xdigit.IDNumber) + " ", Result{Outcome: Match, Code: "0", Charged: true}},
		{"unknown number", "李四", "110101199003070011", Result{Outcome: NoRecord, Code: "-5"}},
		{"bad check digit", male.Name, "110101199005142139", Result{Outcome: InvalidID, Code: "-2"}},
		{"short number", male.Name, "11010119900514", Result{Outcome: InvalidID, Code: "-2"}},
		{"empty number", male.Name, "", Result{Outcome: InvalidID, Code: "-2"}},
		{"latin name", "Lin Haoran", male.IDNumber, Result{Outcome: InvalidName, Code: "-3"}},
		{"empty name", "", male.IDNumber, Result{Outcome: InvalidName, Code: "-3"}},
	} {
		tc.want.Provider = AcedataName
		got, err := p.Check(context.Background(), tc.name, tc.number)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.what, got, err, tc.want)
		}
	}
}

func TestAcedataCheckFailures(t *testing.T) {
	srv, base := acedataSandbox(t)
	ctx := context.Background()
	c := acedataSample(t, "male")

	_, err := acedataProvider(t, base, "not-the-key", 10*time.Second).Check(ctx, c.Name, c.IDNumber)
	acedataWantErr(t, "wrong key", err, ErrUnavailable, "invalid_token", c.Name, c.IDNumber)

	if res, err := acedataProvider(t, base, "Bearer "+sandbox.SandboxAcedataKey, 10*time.Second).Check(ctx, c.Name, c.IDNumber); err != nil || res.Outcome != Match {
		t.Errorf("Bearer key: %+v, %v", res, err)
	}

	p := acedataProvider(t, base, sandbox.SandboxAcedataKey, 300*time.Millisecond)
	for _, tc := range []struct {
		mode string
		kind error
		code string
	}{
		{sandbox.ModeError, ErrUnavailable, "api_error"},
		{sandbox.ModeQuota, ErrLimit, "-7"},
		{sandbox.ModeTimeout, ErrUnavailable, ""},
	} {
		if err := srv.SetFault(sandbox.Fault{Upstream: sandbox.AcedataUpstream, Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		res, err := p.Check(ctx, c.Name, c.IDNumber)
		acedataWantErr(t, tc.mode, err, tc.kind, tc.code, c.Name, c.IDNumber)
		if res != (Result{}) {
			t.Errorf("%s: a failure came with a result %+v", tc.mode, res)
		}
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: sandbox.AcedataUpstream, Mode: sandbox.ModeOK})
	if res, err := p.Check(ctx, c.Name, c.IDNumber); err != nil || res.Outcome != Match {
		t.Errorf("after the faults: %+v, %v", res, err)
	}

	// A cancelled caller is no answer either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = p.Check(cctx, c.Name, c.IDNumber)
	acedataWantErr(t, "cancelled", err, ErrUnavailable, "", c.Name, c.IDNumber)
}

// TestAcedataResultCodes covers the codes the fake has no scenario for.
func TestAcedataResultCodes(t *testing.T) {
	a := &Acedata{}
	for code, kind := range map[string]error{"-4": ErrUnavailable, "-6": ErrUnavailable, "-7": ErrLimit, "1": ErrUnavailable, "Success": ErrUnavailable} {
		res, err := a.resultOf(code)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, kind) || e.Code != code || res != (Result{}) {
			t.Errorf("code %s: %+v, %v; want %v", code, res, err, kind)
		}
	}
	for _, tc := range []struct {
		status int
		body   string
		code   string
	}{
		{400, `{"error":{"code":"token_mismatched","message":"Bad request"}}`, "token_mismatched"},
		{400, `{"error":{"code":"api_not_implemented","message":"name 张三 is odd"}}`, "api_not_implemented"},
		{401, `{"error":{"code":"invalid_token","message":"Unauthorized"}}`, "invalid_token"},
		{429, `{"error":{"code":"too_many_requests","message":"Too many requests"}}`, "too_many_requests"},
		{500, `{"error":{"code":"api_error","message":"Internal server error"},"trace_id":"t"}`, "api_error"},
		{503, `upstream down`, "http_503"},
	} {
		he := acedata.ParseHTTPError(tc.status, []byte(tc.body))
		code, cause := he.Code, error(he)
		if code != tc.code || cause == nil || strings.Contains(cause.Error(), "张三") {
			t.Errorf("HTTP %d: %q, %v; want code %q and no vendor message", tc.status, code, cause, tc.code)
		}
	}
	for _, base := range []string{"ftp://x", "http://", "http://h/?a=1"} {
		if _, err := NewAcedata(base, "k", nil); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
	if _, err := NewAcedata("", "", nil); err == nil {
		t.Error("empty key accepted")
	}
}
