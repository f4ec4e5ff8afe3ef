package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"realname/service/face"
)

// TestCertHashVector is the document's test vector.
func TestCertHashVector(t *testing.T) {
	c := CertInfo{Type: "IDENTITY_CARD", Name: "张三", Number: "310101199801011234"}
	if got := c.Hash(); got != "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b" {
		t.Fatalf("cert_hash %s", got)
	}
}

// TestCertInfoPrintsNoPII: fmt and slog show a placeholder.
func TestCertInfoPrintsNoPII(t *testing.T) {
	c := CertInfo{Type: CertTypeIDCard, Name: "张三", Number: "310101199801011234"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cert", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s", c, c, c), fmt.Sprintf("%v", FaceRequest{Cert: c}), logged.String()} {
		if strings.Contains(s, "张三") || strings.Contains(s, "310101") {
			t.Fatalf("printed %q", s)
		}
	}
}

func TestOutSeqNo(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := NewOutSeqNo()
		if len(s) != 24 || !ValidOutSeqNo(s) || seen[s] {
			t.Fatalf("NewOutSeqNo() = %q", s)
		}
		seen[s] = true
	}
	for s, ok := range map[string]bool{
		"abcde": true, strings.Repeat("a", 32): true, "A-z_09": true,
		"abcd": false, strings.Repeat("a", 33): false, "abc de": false, "abc.de": false, "abcdé": false, "": false,
	} {
		if ValidOutSeqNo(s) != ok {
			t.Errorf("ValidOutSeqNo(%q) = %v", s, !ok)
		}
	}
}

// TestClassifyVerifyRet walks the document's table, ranges included.
func TestClassifyVerifyRet(t *testing.T) {
	type class struct {
		out   face.Outcome
		cause face.Cause
	}
	want := func(ret int) class {
		switch ret {
		case 10000:
			return class{face.OutcomePassed, ""}
		case 10003:
			return class{face.OutcomeIdentityMismatch, ""}
		case 10004, 10012, 10041:
			return class{face.OutcomeFaceMismatch, ""}
		case 10026:
			return class{face.OutcomeNoRecord, ""}
		case 10005:
			return class{face.OutcomePending, ""}
		case 10021:
			return class{face.OutcomeRepeated, ""}
		case 10042:
			return class{face.OutcomeRateLimited, ""}
		case 10001, 10006, 10040:
			return class{face.OutcomeConfigError, ""}
		case 10300:
			return class{face.OutcomeNotFinished, face.CauseUnfinished}
		}
		return class{face.OutcomeFailed, ""}
	}
	for ret := 9990; ret <= 10400; ret++ {
		out, cause := ClassifyVerifyRet(ret)
		if got := (class{out, cause}); got != want(ret) {
			t.Errorf("%d: %+v, want %+v", ret, got, want(ret))
		}
	}
	causes := map[face.Cause][]int{
		face.CauseDeviceUnsupported: {90001, 90109},
		face.CauseCancelled:         {90002, 90003, 90004, 90005, 90006, 90024},
		face.CauseNetwork:           {90007, 90012},
		face.CauseNoPermission:      {90008, 90009, 90010},
		face.CauseCaptureInvalid:    {90011, 90013, 90014},
		face.CauseTimeout:           {90017, 90107},
		face.CauseSystem:            {90018, 90199},
	}
	named := map[int]face.Cause{}
	for c, rets := range causes {
		for _, r := range rets {
			named[r] = c
		}
	}
	for ret := 90000; ret <= 90199; ret++ {
		out, cause := ClassifyVerifyRet(ret)
		wantCause, ok := named[ret]
		if !ok {
			wantCause = face.CauseOther
		}
		if out != face.OutcomeNotFinished || cause != wantCause {
			t.Errorf("%d: %s/%s, want not_finished/%s", ret, out, cause, wantCause)
		}
	}
	for _, ret := range []int{-1, 0, 89999, 90200, 1 << 40} {
		if out, cause := ClassifyVerifyRet(ret); out != face.OutcomeFailed || cause != face.CauseNone {
			t.Errorf("%d: %s/%s", ret, out, cause)
		}
	}
}

// wxStub answers every call with body and records the last request.
type wxStub struct {
	status int
	body   string
	path   string
	query  string
	got    map[string]any
}

func (s *wxStub) serve(t *testing.T) *Face {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.path, s.query = r.URL.Path, r.URL.RawQuery
		raw, _ := io.ReadAll(r.Body)
		s.got = nil
		_ = json.Unmarshal(raw, &s.got)
		if s.status != 0 {
			w.WriteHeader(s.status)
		}
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(srv.Close)
	f, err := NewFace(srv.URL+"/", srv.Client(), stubDoer("TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stubCert is the document's test identity.
func stubCert() CertInfo { return CertInfo{Name: "张三", Number: "310101199801011234"} }

func stubStart(t *testing.T, f *Face) (FaceTicket, error) {
	t.Helper()
	return f.GetVerifyID(context.Background(), "wxapp", FaceRequest{OutSeqNo: "seq_12345", OpenID: "oUser", Cert: stubCert()})
}

func stubQuery(t *testing.T, f *Face) (FaceResult, error) {
	t.Helper()
	return f.QueryVerifyInfo(context.Background(), "wxapp",
		FaceQuery{VerifyID: "vid", OutSeqNo: "seq_12345", OpenID: "oUser", CertHash: stubCert().Hash()})
}

// TestFaceRequestsAsDocumented: path, token in the query, and the bodies'
// fields exactly as the document names them.
func TestFaceRequestsAsDocumented(t *testing.T) {
	stub := &wxStub{body: `{"errcode":0,"errmsg":"ok","verify_id":"vid","expires_in":3600}`}
	f := stub.serve(t)
	tk, err := stubStart(t, f)
	if err != nil || tk.VerifyID != "vid" || tk.ExpiresIn != time.Hour {
		t.Fatalf("ticket %+v: %v", tk, err)
	}
	wantBody := `{"cert_info":{"cert_name":"张三","cert_no":"310101199801011234","cert_type":"IDENTITY_CARD"},"openid":"oUser","out_seq_no":"seq_12345"}`
	if got, _ := json.Marshal(stub.got); stub.path != "/cityservice/face/identify/getverifyid" || stub.query != "access_token=TOKEN" || string(got) != wantBody {
		t.Fatalf("sent %s?%s %s", stub.path, stub.query, got)
	}
	stub.body = `{"errcode":0,"errmsg":"ok","verify_ret":10000}`
	r, err := stubQuery(t, f)
	if err != nil || r.VerifyRet != 10000 || r.Outcome != face.OutcomePassed {
		t.Fatalf("result %+v: %v", r, err)
	}
	wantBody = `{"cert_hash":"3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b","openid":"oUser","out_seq_no":"seq_12345","verify_id":"vid"}`
	if got, _ := json.Marshal(stub.got); stub.path != "/cityservice/face/identify/queryverifyinfo" || string(got) != wantBody {
		t.Fatalf("sent %s %s", stub.path, got)
	}
}

// TestFaceAnswers: what each kind of answer becomes, string codes included.
func TestFaceAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		query      bool          // ask queryVerifyInfo instead of getVerifyId
		ttl        time.Duration // expected ticket lifetime
		ret        int           // expected verify_ret
		err        error         // expected client error
		kind       error         // expected face kind
	}{
		{name: "string errcode ok", body: `{"errcode":"0","errmsg":"ok","verify_ret":"10004"}`, query: true, ret: 10004},
		{name: "no errcode", body: `{"verify_ret":10000}`, query: true, ret: 10000},
		{name: "string 84001", body: `{"errcode":"84001","errmsg":"invalid identify id"}`, query: true, err: ErrFaceInvalidID, kind: face.ErrInvalidTicket},
		{name: "84001 with a verify_ret", body: `{"errcode":84001,"verify_ret":10000}`, query: true, err: ErrFaceInvalidID, kind: face.ErrInvalidTicket},
		{name: "system error", body: `{"errcode":-1,"errmsg":"system error"}`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "string system error", body: `{"errcode":" -1 "}`, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "not granted", body: `{"errcode":48001,"errmsg":"api unauthorized"}`, kind: face.ErrRefused},
		{name: "bad errcode", body: `{"errcode":"ok","verify_ret":10000}`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "no verify_ret", body: `{"errcode":0,"errmsg":"ok"}`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "null verify_ret", body: `{"errcode":0,"verify_ret":null}`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "fraction verify_ret", body: `{"verify_ret":10000.5}`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "HTTP 502", body: `<html>bad gateway</html>`, status: 502, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "oversized", body: `{"errcode":0,"verify_id":"` + strings.Repeat("v", faceMaxAnswer) + `"}`, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "not json", body: `verify_ret=10000`, query: true, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "no verify_id", body: `{"errcode":0,"expires_in":3600}`, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "long verify_id", body: `{"errcode":0,"verify_id":"` + strings.Repeat("v", 257) + `"}`, err: ErrUpstream, kind: face.ErrUnavailable},
		{name: "default ttl", body: `{"errcode":0,"verify_id":"v"}`, ttl: time.Hour},
		{name: "zero ttl", body: `{"errcode":0,"verify_id":"v","expires_in":0}`, ttl: time.Hour},
		{name: "string ttl", body: `{"errcode":0,"verify_id":"v","expires_in":"120"}`, ttl: 2 * time.Minute},
		{name: "huge ttl", body: `{"errcode":0,"verify_id":"v","expires_in":9223372036854775807}`, ttl: 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := (&wxStub{status: tc.status, body: tc.body}).serve(t)
			var err error
			if tc.query {
				var r FaceResult
				r, err = stubQuery(t, f)
				if err == nil && r.VerifyRet != tc.ret {
					t.Fatalf("result %+v, want %d", r, tc.ret)
				}
			} else {
				var tk FaceTicket
				tk, err = stubStart(t, f)
				if err == nil && tk.ExpiresIn != tc.ttl {
					t.Fatalf("ticket %+v, want ttl %v", tk, tc.ttl)
				}
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if fe := faceError(err); !errors.Is(fe, tc.kind) {
				t.Fatalf("kind of %v: %v, want %v", err, fe.Kind, tc.kind)
			}
			if strings.Contains(err.Error(), "TOKEN") {
				t.Fatalf("error quotes the token: %v", err)
			}
		})
	}
}

// TestFaceErrmsgScrubbed: an errmsg echoing what was sent loses it.
func TestFaceErrmsgScrubbed(t *testing.T) {
	f := (&wxStub{body: `{"errcode":40097,"errmsg":"invalid args: cert_no 310101199801011234 cert_name 张三 ` +
		strings.Repeat("长", 300) + `"}`}).serve(t)
	_, err := stubStart(t, f)
	var api *APIError
	if !errors.As(err, &api) || api.Code != 40097 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "310101199801011234") || strings.Contains(err.Error(), "张三") || len(api.Msg) > faceErrMsgMax+4 {
		t.Fatalf("errmsg kept: %v", err)
	}
	f = (&wxStub{body: `{"errcode":84001,"errmsg":"bad cert_hash ` + stubCert().Hash() + `"}`}).serve(t)
	if _, err := stubQuery(t, f); strings.Contains(err.Error(), stubCert().Hash()) {
		t.Fatalf("errmsg kept the cert_hash: %v", err)
	}
}

func TestNewFaceRejectsBadBase(t *testing.T) {
	for _, base := range []string{"api.weixin.qq.com", "ftp://x", "http://", "http://x/?a=b"} {
		if _, err := NewFace(base, nil, stubDoer("t")); err == nil {
			t.Errorf("NewFace(%q) accepted", base)
		}
	}
}
