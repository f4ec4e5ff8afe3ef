package wechat

import (
	"context"
	"errors"
	"strconv"

	"realname/service/clock"
	"realname/service/face"
	"realname/service/token"
)

// FaceName is the provider name of WeChat face verification in config,
// metrics and the records of each check.
const FaceName = "wechat"

// FaceProvider is Face as a face.Provider. It is safe for concurrent use.
type FaceProvider struct {
	face  *Face
	clock clock.Clock
}

// NewFaceProvider adapts f; clk dates the tickets' expiry.
func NewFaceProvider(f *Face, clk clock.Clock) *FaceProvider {
	return &FaceProvider{face: f, clock: clk}
}

// Name returns "wechat".
func (p *FaceProvider) Name() string { return FaceName }

// Start asks getVerifyId for a check of s with a fresh out_seq_no, sending
// s.Name and s.IDNumber as they are (the flow normalised them; Result
// hashes the same values). ExpiresAt counts from before the call, so it is
// never later than WeChat's own expiry.
func (p *FaceProvider) Start(ctx context.Context, s face.Subject) (face.Ticket, error) {
	if s.AppID == "" {
		return face.Ticket{}, &face.Error{Provider: FaceName, Kind: face.ErrInvalidSubject, Err: errors.New("no appid")}
	}
	seq := NewOutSeqNo()
	sent := p.clock.Now()
	t, err := p.face.GetVerifyID(ctx, s.AppID, FaceRequest{OutSeqNo: seq, OpenID: s.OpenID, Cert: certOf(s)})
	if err != nil {
		return face.Ticket{}, faceError(err)
	}
	return face.Ticket{Provider: FaceName, VerifyID: t.VerifyID, SeqNo: seq, ExpiresAt: sent.Add(t.ExpiresIn)}, nil
}

// Result asks queryVerifyInfo about t, with the cert_hash of s. The
// ticket's expiry is not checked here: WeChat is the judge of it, and
// answers an expired verify_id with 84001 (face.ErrInvalidTicket).
func (p *FaceProvider) Result(ctx context.Context, s face.Subject, t face.Ticket) (face.Result, error) {
	if t.Provider != FaceName || s.AppID == "" {
		return face.Result{}, &face.Error{Provider: FaceName, Kind: face.ErrInvalidSubject,
			Err: errors.New("ticket of another provider, or no appid")}
	}
	r, err := p.face.QueryVerifyInfo(ctx, s.AppID, FaceQuery{VerifyID: t.VerifyID, OutSeqNo: t.SeqNo,
		OpenID: s.OpenID, CertHash: certOf(s).Hash()})
	if err != nil {
		return face.Result{}, faceError(err)
	}
	return face.Result{Provider: FaceName, Outcome: r.Outcome, Cause: r.Cause, Code: strconv.Itoa(r.VerifyRet)}, nil
}

func certOf(s face.Subject) CertInfo {
	return CertInfo{Type: CertTypeIDCard, Name: s.Name, Number: s.IDNumber}
}

// faceError sorts the client's errors into face's kinds. An errcode that
// is neither 84001 nor one of WeChat's own failures (ErrUpstream) is
// WeChat refusing the request as made, e.g. 48001 when the app lacks the
// capability: an integration problem, as is an app the token service does
// not know. Anything else that is no answer at all (token source,
// transport, context) is ErrUnavailable.
func faceError(err error) *face.Error {
	e := &face.Error{Provider: FaceName, Kind: face.ErrUnavailable, Err: err}
	var api *APIError
	if errors.As(err, &api) {
		e.Code = strconv.Itoa(api.Code)
	}
	switch {
	case errors.Is(err, ErrFaceInput):
		e.Kind = face.ErrInvalidSubject
	case errors.Is(err, ErrFaceInvalidID):
		e.Kind = face.ErrInvalidTicket
	case errors.Is(err, ErrUpstream):
	case api != nil, errors.Is(err, token.ErrUnknownApp):
		e.Kind = face.ErrRefused
	}
	return e
}
