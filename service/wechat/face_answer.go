package wechat

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"realname/service/vendorcode"
)

// faceErrMsgMax bounds the errmsg an error quotes: WeChat's are one short
// sentence and a rid.
const faceErrMsgMax = 200

// faceAnswer holds the fields of both face APIs' answers. The codes are
// read by vendorcode, so "errcode":"0" or "verify_ret":"10000" mean what
// the numbers do; verify_ret and expires_in are pointers to tell a
// missing value from 0.
type faceAnswer struct {
	ErrCode   vendorcode.Code  `json:"errcode"`
	ErrMsg    string           `json:"errmsg"`
	VerifyID  string           `json:"verify_id"`
	ExpiresIn *vendorcode.Code `json:"expires_in"`
	VerifyRet *vendorcode.Code `json:"verify_ret"`
}

// decodeFaceAnswer parses an HTTP 200 body of api. A non-zero errcode
// becomes an *APIError (whose ErrCode lets the token source spot a
// rejected token), wrapped in ErrFaceInvalidID for 84001 and in
// ErrUpstream for WeChat's own failures; an unreadable body is
// ErrUpstream. secrets are cut out of the errmsg.
func decodeFaceAnswer(api string, data []byte, secrets ...string) (faceAnswer, error) {
	if len(data) > faceMaxAnswer {
		return faceAnswer{}, fmt.Errorf("%w: %s answer is over %d bytes", ErrUpstream, api, faceMaxAnswer)
	}
	var ans faceAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		// The JSON error quotes no input, only offsets and types.
		return faceAnswer{}, fmt.Errorf("%w: decode %s answer: %w", ErrUpstream, api, err)
	}
	if ans.ErrCode == 0 {
		return ans, nil
	}
	apiErr := &APIError{API: "cityservice/face/identify/" + api, Code: int(ans.ErrCode), Msg: scrub(ans.ErrMsg, secrets)}
	switch apiErr.Code {
	case 84001:
		return ans, fmt.Errorf("%w: %w", ErrFaceInvalidID, apiErr)
	case -1, 40001, 40014, 42001, 45009, 45011:
		// System error, a token still rejected after the refresh, quota
		// and rate limits: WeChat could not answer now, later it may.
		return ans, fmt.Errorf("%w: %w", ErrUpstream, apiErr)
	}
	return ans, apiErr
}

// scrub bounds msg and cuts out every secret in it: the document does not
// say what errmsg may echo, and an error must never carry a name or an ID
// number.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if len(msg) > faceErrMsgMax {
		cut := faceErrMsgMax
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return strings.ToValidUTF8(msg, "?")
}

// ticketOf reads getVerifyId's answer. expires_in missing or not positive
// is the documented default of 3600 s; above a day it is capped there.
func ticketOf(ans faceAnswer) (FaceTicket, error) {
	if ans.VerifyID == "" || len(ans.VerifyID) > verifyIDMax {
		return FaceTicket{}, fmt.Errorf("%w: getverifyid answered a verify_id of %d bytes", ErrUpstream, len(ans.VerifyID))
	}
	ttl := faceDefaultTTL
	if ans.ExpiresIn != nil && *ans.ExpiresIn > 0 {
		ttl = faceMaxTTL
		if *ans.ExpiresIn < vendorcode.Code(faceMaxTTL/time.Second) {
			ttl = time.Duration(*ans.ExpiresIn) * time.Second
		}
	}
	return FaceTicket{VerifyID: ans.VerifyID, ExpiresIn: ttl}, nil
}

// resultOfFace reads queryVerifyInfo's answer. errcode 0 without a
// verify_ret is no verdict: it is an error, like an unreadable answer.
func resultOfFace(ans faceAnswer) (FaceResult, error) {
	if ans.VerifyRet == nil {
		return FaceResult{}, fmt.Errorf("%w: queryverifyinfo answered no verify_ret", ErrUpstream)
	}
	ret := int(*ans.VerifyRet)
	if int64(ret) != int64(*ans.VerifyRet) {
		return FaceResult{}, fmt.Errorf("%w: queryverifyinfo verify_ret out of range", ErrUpstream)
	}
	out, cause := ClassifyVerifyRet(ret)
	return FaceResult{VerifyRet: ret, Outcome: out, Cause: cause}, nil
}
