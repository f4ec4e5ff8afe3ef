package wechat

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"realname/service/vendorcode"
)

// sdkMaxRewrite bounds the answers sdkCodes looks into: code2session and
// subscribeMessage.send answer a few hundred bytes; anything bigger is
// passed through untouched.
const sdkMaxRewrite = 64 << 10

// sdkCodes is the transport under the SDK's HTTP client. The SDK decodes
// errcode into an int64, so an answer quoting it ("errcode":"0", as a
// copy of WeChat's document shows) failed to decode: a good login became
// an upstream error, a sent message a failure to retry. sdkCodes reads a
// top-level errcode with vendorcode and hands the SDK the number; any
// other answer, a non-numeric errcode included (the SDK still refuses
// it), reaches the SDK as WeChat sent it.
type sdkCodes struct{ next http.RoundTripper }

func (t sdkCodes) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	orig := resp.Body
	body, err := io.ReadAll(io.LimitReader(orig, sdkMaxRewrite+1))
	if err != nil {
		orig.Close()
		return nil, err
	}
	if len(body) > sdkMaxRewrite {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		return resp, nil
	}
	orig.Close()
	body = numericErrcode(body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// numericErrcode gives body with a top-level errcode that is a numeric
// string written as the number; any other body comes back as it is.
func numericErrcode(body []byte) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body
	}
	raw := bytes.TrimSpace(top["errcode"])
	if len(raw) == 0 || raw[0] != '"' {
		return body
	}
	var c vendorcode.Code
	if c.UnmarshalJSON(raw) != nil {
		return body
	}
	top["errcode"] = json.RawMessage(c.String())
	out, err := json.Marshal(top)
	if err != nil {
		return body
	}
	return out
}
