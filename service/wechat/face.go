package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"realname/service/face"
)

const (
	// faceMaxAnswer bounds the answers read: both APIs answer a few
	// fields (a verify_id is at most 256 characters), so anything near
	// this is not theirs.
	faceMaxAnswer = 16 << 10
	// verifyIDMax is the documented longest verify_id.
	verifyIDMax = 256
	// faceDefaultTTL is the documented lifetime of a verify_id, taken
	// when the answer carries no usable expires_in.
	faceDefaultTTL = 3600 * time.Second
	// faceMaxTTL caps expires_in: the document names no upper bound, and
	// a ticket believed valid for days would only keep a user waiting on
	// a dead verify_id.
	faceMaxTTL = 24 * time.Hour
)

// Face request errors. WeChat's errcode answers come back as *APIError,
// wrapped in one of these where the class is known.
var (
	// ErrFaceInput is a request refused before sending: an out_seq_no,
	// openid, cert_info, verify_id or cert_hash of the wrong shape. Its
	// text names the field, never its value.
	ErrFaceInput = errors.New("wechat face: invalid request")
	// ErrFaceInvalidID is errcode 84001 (invalid identify id): the
	// verify_id is unknown, expired or reused, or the openid, out_seq_no
	// or cert_hash differ from getVerifyId's. Start a new check.
	ErrFaceInvalidID = errors.New("wechat face: invalid identify id")
)

// FaceRequest is what getVerifyId takes for one check.
type FaceRequest struct {
	OutSeqNo string   // ours, from NewOutSeqNo; one per check
	OpenID   string   // the user who will run the check in the Mini Program
	Cert     CertInfo // Type empty means CertTypeIDCard
}

// FaceTicket is getVerifyId's answer: the verify_id for
// wx.requestFacialVerify and how long a check can start with it.
type FaceTicket struct {
	VerifyID  string
	ExpiresIn time.Duration
}

// FaceQuery is what queryVerifyInfo takes: getVerifyId's out_seq_no and
// openid, and the Hash of the cert_info sent with them.
type FaceQuery struct {
	VerifyID string
	OutSeqNo string
	OpenID   string
	CertHash string
}

// FaceResult is queryVerifyInfo's verdict: the raw verify_ret, always kept,
// and its class (ClassifyVerifyRet).
type FaceResult struct {
	VerifyRet int
	Outcome   face.Outcome
	Cause     face.Cause
}

// Face calls WeChat's face verification 2.0 (cityservice/face/identify)
// with the apps' shared access_token. It is safe for concurrent use.
type Face struct {
	root   string
	client *http.Client
	tokens TokenDoer
}

// NewFace builds the client. base is WeChat's API root (DefaultAPIBase
// when empty, or the sandbox); client nil means one with a 10 s timeout,
// a backstop behind the caller's context.
func NewFace(base string, client *http.Client, tokens TokenDoer) (*Face, error) {
	root, err := apiRoot(base, "face")
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Face{root: root, client: client, tokens: tokens}, nil
}

// GetVerifyID asks getVerifyId for a verify_id of in.OpenID in appID. The
// cert_info goes into the body and nowhere else: no error quotes it, and
// an errmsg that echoes it has it cut out.
func (f *Face) GetVerifyID(ctx context.Context, appID string, in FaceRequest) (FaceTicket, error) {
	if in.Cert.Type == "" {
		in.Cert.Type = CertTypeIDCard
	}
	switch {
	case !ValidOutSeqNo(in.OutSeqNo):
		return FaceTicket{}, fmt.Errorf("%w: out_seq_no must be 5-32 of [0-9A-Za-z_-]", ErrFaceInput)
	case in.OpenID == "":
		return FaceTicket{}, fmt.Errorf("%w: no openid", ErrFaceInput)
	case in.Cert.Type != CertTypeIDCard:
		return FaceTicket{}, fmt.Errorf("%w: cert_type must be %s", ErrFaceInput, CertTypeIDCard)
	case in.Cert.Name == "" || in.Cert.Number == "":
		return FaceTicket{}, fmt.Errorf("%w: cert_name and cert_no are required", ErrFaceInput)
	}
	body, err := json.Marshal(struct {
		OutSeqNo string   `json:"out_seq_no"`
		CertInfo CertInfo `json:"cert_info"`
		OpenID   string   `json:"openid"`
	}{in.OutSeqNo, in.Cert, in.OpenID})
	if err != nil {
		return FaceTicket{}, fmt.Errorf("%w: encode body", ErrFaceInput)
	}
	ans, err := f.call(ctx, appID, "getverifyid", body, in.Cert.Name, in.Cert.Number)
	if err != nil {
		return FaceTicket{}, err
	}
	return ticketOf(ans)
}

// QueryVerifyInfo asks queryVerifyInfo what became of q.VerifyID. An
// errcode answer is an error, never a verdict: only FaceResult carries one.
func (f *Face) QueryVerifyInfo(ctx context.Context, appID string, q FaceQuery) (FaceResult, error) {
	switch {
	case q.VerifyID == "" || len(q.VerifyID) > verifyIDMax:
		return FaceResult{}, fmt.Errorf("%w: verify_id must be 1-%d characters", ErrFaceInput, verifyIDMax)
	case !ValidOutSeqNo(q.OutSeqNo):
		return FaceResult{}, fmt.Errorf("%w: out_seq_no must be 5-32 of [0-9A-Za-z_-]", ErrFaceInput)
	case q.OpenID == "":
		return FaceResult{}, fmt.Errorf("%w: no openid", ErrFaceInput)
	case !validCertHash(q.CertHash):
		return FaceResult{}, fmt.Errorf("%w: cert_hash must be 64 lower-case hex digits", ErrFaceInput)
	}
	body, err := json.Marshal(struct {
		VerifyID string `json:"verify_id"`
		OutSeqNo string `json:"out_seq_no"`
		CertHash string `json:"cert_hash"`
		OpenID   string `json:"openid"`
	}{q.VerifyID, q.OutSeqNo, q.CertHash, q.OpenID})
	if err != nil {
		return FaceResult{}, fmt.Errorf("%w: encode body", ErrFaceInput)
	}
	ans, err := f.call(ctx, appID, "queryverifyinfo", body, q.CertHash)
	if err != nil {
		return FaceResult{}, err
	}
	return resultOfFace(ans)
}

// call posts body to cityservice/face/identify/<api> with appID's token,
// retried once by the token source when WeChat rejects the token. secrets
// are cut out of any errmsg before it reaches an error.
func (f *Face) call(ctx context.Context, appID, api string, body []byte, secrets ...string) (faceAnswer, error) {
	p := apiPost{client: f.client, endpoint: f.root + "/cityservice/face/identify/" + api,
		contentType: "application/json", body: body, what: api, maxAnswer: faceMaxAnswer}
	var ans faceAnswer
	err := f.tokens.Do(ctx, appID, func(token string) error {
		data, err := p.do(ctx, token)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUpstream, err)
		}
		ans, err = decodeFaceAnswer(api, data, secrets...)
		return err
	})
	if err != nil {
		return faceAnswer{}, fmt.Errorf("wechat face %s: %w", api, err)
	}
	return ans, nil
}
