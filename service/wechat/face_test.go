package wechat

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"realname/sandbox"
	"realname/service/clock"
	"realname/service/face"
)

// The compile-time proof that the adapter is a face.Provider.
var _ face.Provider = (*FaceProvider)(nil)

const (
	faceGetCalls   = "wechat_face POST /cityservice/face/identify/getverifyid"
	faceQueryCalls = "wechat_face POST /cityservice/face/identify/queryverifyinfo"
	faceOpenID     = "oFaceTest00000000000000000001"
)

// faceSubject is a sample card's holder, which the fake's by-card mode
// passes.
func faceSubject() face.Subject {
	return face.Subject{AppID: ocrAppID, OpenID: faceOpenID, Name: "林浩然", IDNumber: "110101199005142138"}
}

func (e *ocrEnv) faceProvider(t *testing.T, client *http.Client) *FaceProvider {
	t.Helper()
	f, err := NewFace(e.srv.URL(), client, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	return NewFaceProvider(f, clock.System{})
}

// checkNoPII fails when err quotes the subject's name or number.
func checkNoPII(t *testing.T, err error, s face.Subject) {
	t.Helper()
	if strings.Contains(err.Error(), s.Name) || strings.Contains(err.Error(), s.IDNumber) {
		t.Fatalf("error quotes the subject: %v", err)
	}
}

func wantFaceKind(t *testing.T, err error, kind error, code string) *face.Error {
	t.Helper()
	var fe *face.Error
	if !errors.As(err, &fe) || !errors.Is(err, kind) || fe.Code != code || fe.Provider != FaceName {
		t.Fatalf("err = %v, want %v with code %q", err, kind, code)
	}
	return fe
}

// TestFaceEveryVerifyRet: every class of verify_ret, as the fake answers
// it after the Mini Program set it, reaches the flow as its outcome with
// the raw value kept.
func TestFaceEveryVerifyRet(t *testing.T) {
	env := newOCREnv(t)
	p := env.faceProvider(t, nil)
	ctx := context.Background()
	s := faceSubject()
	for _, tc := range []struct {
		ret   int // 0: nobody ran the check
		out   face.Outcome
		cause face.Cause
	}{
		{0, face.OutcomeNotFinished, face.CauseUnfinished},
		{10000, face.OutcomePassed, face.CauseNone},
		{10003, face.OutcomeIdentityMismatch, face.CauseNone},
		{10004, face.OutcomeFaceMismatch, face.CauseNone},
		{10012, face.OutcomeFaceMismatch, face.CauseNone},
		{10041, face.OutcomeFaceMismatch, face.CauseNone},
		{10026, face.OutcomeNoRecord, face.CauseNone},
		{10005, face.OutcomePending, face.CauseNone},
		{10021, face.OutcomeRepeated, face.CauseNone},
		{10042, face.OutcomeRateLimited, face.CauseNone},
		{10001, face.OutcomeConfigError, face.CauseNone},
		{10006, face.OutcomeConfigError, face.CauseNone},
		{10040, face.OutcomeConfigError, face.CauseNone},
		{10002, face.OutcomeFailed, face.CauseNone},
		{10017, face.OutcomeFailed, face.CauseNone},
		{10052, face.OutcomeFailed, face.CauseNone},
		{12345, face.OutcomeFailed, face.CauseNone},
		{10300, face.OutcomeNotFinished, face.CauseUnfinished},
		{90002, face.OutcomeNotFinished, face.CauseCancelled},
		{90009, face.OutcomeNotFinished, face.CauseNoPermission},
		{90107, face.OutcomeNotFinished, face.CauseTimeout},
		{90109, face.OutcomeNotFinished, face.CauseDeviceUnsupported},
		{90012, face.OutcomeNotFinished, face.CauseNetwork},
		{90013, face.OutcomeNotFinished, face.CauseCaptureInvalid},
		{90199, face.OutcomeNotFinished, face.CauseSystem},
		{90150, face.OutcomeNotFinished, face.CauseOther},
	} {
		before := time.Now()
		tk, err := p.Start(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Provider != FaceName || !ValidOutSeqNo(tk.SeqNo) || tk.VerifyID == "" ||
			tk.ExpiresAt.Before(before.Add(time.Hour-time.Second)) || tk.ExpiresAt.After(time.Now().Add(time.Hour)) {
			t.Fatalf("ticket %+v", tk)
		}
		want := "10300"
		if tc.ret != 0 {
			if err := env.wx.SetFaceResult(tk.VerifyID, tc.ret); err != nil {
				t.Fatal(err)
			}
			want = strconv.Itoa(tc.ret)
		}
		for range 2 { // a repeated query answers the same
			r, err := p.Result(ctx, s, tk)
			if err != nil {
				t.Fatalf("%d: %v", tc.ret, err)
			}
			if r.Outcome != tc.out || r.Cause != tc.cause || r.Code != want || r.Provider != FaceName {
				t.Fatalf("%d: result %+v, want %s/%s", tc.ret, r, tc.out, tc.cause)
			}
		}
	}
}

// TestFaceErrcodes: errcode answers are typed errors, never a verdict,
// and none quotes the name, the number or the token.
func TestFaceErrcodes(t *testing.T) {
	env := newWeChatEnv(t, sandbox.WeChatOptions{FaceTTL: time.Second})
	p := env.faceProvider(t, nil)
	ctx := context.Background()
	s := faceSubject()
	tk, err := p.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.wx.SetFaceResult(tk.VerifyID, 10000); err != nil {
		t.Fatal(err)
	}
	other := s
	other.Name = "林浩"
	otherUser := s
	otherUser.OpenID = "oSomeoneElse000000000000000x"
	// In order: the expiry, last, would make every other case 84001 too.
	for _, c := range []struct {
		name string
		q    func() (face.Result, error)
	}{
		{"another name", func() (face.Result, error) { return p.Result(ctx, other, tk) }},
		{"another user", func() (face.Result, error) { return p.Result(ctx, otherUser, tk) }},
		{"another seq", func() (face.Result, error) { t2 := tk; t2.SeqNo = NewOutSeqNo(); return p.Result(ctx, s, t2) }},
		{"unknown id", func() (face.Result, error) { t2 := tk; t2.VerifyID += "x"; return p.Result(ctx, s, t2) }},
		{"after expiry", func() (face.Result, error) { time.Sleep(1100 * time.Millisecond); return p.Result(ctx, s, tk) }},
	} {
		name, q := c.name, c.q
		r, err := q()
		if r != (face.Result{}) {
			t.Fatalf("%s: a result %+v beside the error", name, r)
		}
		wantFaceKind(t, err, face.ErrInvalidTicket, "84001")
		if !errors.Is(err, ErrFaceInvalidID) {
			t.Fatalf("%s: %v is not ErrFaceInvalidID", name, err)
		}
		checkNoPII(t, err, s)
		env.tokens.checkNoToken(t, err)
	}

	// The same out_seq_no twice: WeChat refuses the request as made.
	f, _ := NewFace(env.srv.URL(), nil, env.tokens)
	in := FaceRequest{OutSeqNo: NewOutSeqNo(), OpenID: faceOpenID, Cert: CertInfo{Name: s.Name, Number: s.IDNumber}}
	if _, err := f.GetVerifyID(ctx, ocrAppID, in); err != nil {
		t.Fatal(err)
	}
	_, err = f.GetVerifyID(ctx, ocrAppID, in)
	var api *APIError
	if !errors.As(err, &api) || api.Code != 40097 {
		t.Fatalf("reused out_seq_no: %v", err)
	}
	wantFaceKind(t, faceError(err), face.ErrRefused, "40097")
	checkNoPII(t, err, s)
}

// TestFaceFaults: WeChat failing, over quota or silent is ErrUnavailable.
func TestFaceFaults(t *testing.T) {
	for _, tc := range []struct {
		mode, code string
		client     *http.Client
	}{
		{mode: sandbox.ModeError, code: "-1"},
		{mode: sandbox.ModeQuota, code: "45009"},
		{mode: sandbox.ModeTimeout, client: &http.Client{Timeout: 300 * time.Millisecond}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			env := newOCREnv(t)
			p := env.faceProvider(t, tc.client)
			env.warm(t)
			if err := env.srv.SetFault(sandbox.Fault{Upstream: sandbox.WeChatFaceUpstream, Mode: tc.mode}); err != nil {
				t.Fatal(err)
			}
			_, err := p.Start(context.Background(), faceSubject())
			wantFaceKind(t, err, face.ErrUnavailable, tc.code)
			checkNoPII(t, err, faceSubject())
			env.tokens.checkNoToken(t, err)
			_, err = p.Result(context.Background(), faceSubject(),
				face.Ticket{Provider: FaceName, VerifyID: "v", SeqNo: NewOutSeqNo()})
			wantFaceKind(t, err, face.ErrUnavailable, tc.code)
		})
	}
}

// TestFaceRetriesInvalidatedToken: a token refreshed behind our back is
// replaced once, and the call goes through.
func TestFaceRetriesInvalidatedToken(t *testing.T) {
	env := newWeChatEnv(t, sandbox.WeChatOptions{FaceByCard: true})
	p := env.faceProvider(t, nil)
	env.warm(t)
	env.wx.InvalidateTokens(ocrAppID)
	tk, err := p.Start(context.Background(), faceSubject())
	if err != nil {
		t.Fatal(err)
	}
	if used := env.tokens.used(); len(used) != 2 || used[0] == used[1] {
		t.Fatalf("tokens used %d times, want the invalidated one then a new one", len(used))
	}
	env.wx.InvalidateTokens(ocrAppID)
	r, err := p.Result(context.Background(), faceSubject(), tk)
	if err != nil || !r.Passed() {
		t.Fatalf("result %+v: %v", r, err)
	}
	calls := env.srv.Calls()
	if calls[faceGetCalls] != 2 || calls[faceQueryCalls] != 2 {
		t.Fatalf("calls %v, want each API twice", calls)
	}
}

// TestFaceTokenStillRejected: a token WeChat keeps refusing after the one
// refresh is WeChat unavailable for now, not a refusal of the request.
func TestFaceTokenStillRejected(t *testing.T) {
	env := newOCREnv(t)
	const bogus = "bogus-access-token-that-wechat-never-issued"
	f, err := NewFace(env.srv.URL(), nil, stubDoer(bogus))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewFaceProvider(f, clock.System{}).Start(context.Background(), faceSubject())
	wantFaceKind(t, err, face.ErrUnavailable, "40001")
	if strings.Contains(err.Error(), bogus) {
		t.Fatalf("error quotes the access_token: %v", err)
	}
}

// TestFaceInputRefusedBeforeSending: malformed requests never reach WeChat.
func TestFaceInputRefusedBeforeSending(t *testing.T) {
	env := newOCREnv(t)
	p := env.faceProvider(t, nil)
	f := p.face
	ctx := context.Background()
	s := faceSubject()
	cert := CertInfo{Name: s.Name, Number: s.IDNumber}
	hash := cert.Hash()
	good := FaceRequest{OutSeqNo: NewOutSeqNo(), OpenID: faceOpenID, Cert: cert}
	for name, in := range map[string]FaceRequest{
		"short seq": {OutSeqNo: "abcd", OpenID: faceOpenID, Cert: cert},
		"bad seq":   {OutSeqNo: "abc/def", OpenID: faceOpenID, Cert: cert},
		"no openid": {OutSeqNo: good.OutSeqNo, Cert: cert},
		"passport":  {OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, Cert: CertInfo{Type: "PASSPORT", Name: s.Name, Number: s.IDNumber}},
		"no name":   {OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, Cert: CertInfo{Number: s.IDNumber}},
		"no number": {OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, Cert: CertInfo{Name: s.Name}},
	} {
		_, err := f.GetVerifyID(ctx, ocrAppID, in)
		if !errors.Is(err, ErrFaceInput) {
			t.Errorf("%s: %v", name, err)
		} else {
			checkNoPII(t, err, s)
		}
	}
	for name, q := range map[string]FaceQuery{
		"no verify_id":   {OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, CertHash: hash},
		"long verify_id": {VerifyID: strings.Repeat("v", 257), OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, CertHash: hash},
		"bad seq":        {VerifyID: "v", OutSeqNo: "a b c d e", OpenID: faceOpenID, CertHash: hash},
		"no openid":      {VerifyID: "v", OutSeqNo: good.OutSeqNo, CertHash: hash},
		"upper hash":     {VerifyID: "v", OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, CertHash: strings.ToUpper(hash)},
		"short hash":     {VerifyID: "v", OutSeqNo: good.OutSeqNo, OpenID: faceOpenID, CertHash: hash[1:]},
	} {
		if _, err := f.QueryVerifyInfo(ctx, ocrAppID, q); !errors.Is(err, ErrFaceInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := p.Start(ctx, face.Subject{AppID: ocrAppID, Name: s.Name, IDNumber: s.IDNumber})
	wantFaceKind(t, err, face.ErrInvalidSubject, "")
	_, err = p.Result(ctx, s, face.Ticket{Provider: "cloud", VerifyID: "v", SeqNo: good.OutSeqNo})
	wantFaceKind(t, err, face.ErrInvalidSubject, "")
	if n := env.srv.Calls()[faceGetCalls] + env.srv.Calls()[faceQueryCalls]; n != 0 {
		t.Fatalf("%d calls reached WeChat", n)
	}
}

// TestFaceUnknownApp: an app the token service does not serve is a
// configuration problem, not an outage to wait out.
func TestFaceUnknownApp(t *testing.T) {
	env := newOCREnv(t)
	s := faceSubject()
	s.AppID = "wxnotconfigured00001"
	_, err := env.faceProvider(t, nil).Start(context.Background(), s)
	wantFaceKind(t, err, face.ErrRefused, "")
}
