package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiRoot checks base (WeChat's API root, a proxy or the sandbox; empty
// means DefaultAPIBase) and returns it without a trailing slash, for the
// clients that call WeChat themselves rather than through the SDK.
func apiRoot(base, what string) (string, error) {
	if base == "" {
		base = DefaultAPIBase
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("wechat: %s API base %q is not an http(s) URL", what, base)
	}
	return u.String(), nil
}

// apiPost is one POST to a WeChat API that takes the access_token in its
// query, as OCR and face verification do.
type apiPost struct {
	client      *http.Client
	endpoint    string     // without the query
	query       url.Values // besides access_token; may be nil
	contentType string
	body        []byte
	what        string // names the API in errors, e.g. "idcard"
	maxAnswer   int    // bytes of answer read at most, plus one
}

// do makes the call with token and returns the body of an HTTP 200
// answer, read up to maxAnswer+1 bytes so the caller's decoder can refuse
// an oversized one. Its errors never quote the URL, which carries the
// token, nor the body, which holds a photo or personal data.
func (p apiPost) do(ctx context.Context, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(p.body))
	if err != nil {
		return nil, errors.New("build request failed")
	}
	// Set after the request is built so no error above can echo the token.
	q := url.Values{"access_token": {token}}
	for k, v := range p.query {
		q[k] = v
	}
	req.URL.RawQuery = q.Encode()
	req.Header.Set("Content-Type", p.contentType)
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		} else {
			err = errors.New("request failed")
		}
		return nil, fmt.Errorf("%s request: %w", p.what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; a proxy's error
		// page is small, and anything bigger is not worth reading.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("%s answered HTTP %d", p.what, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.maxAnswer)+1))
	if err != nil {
		return nil, fmt.Errorf("%s read answer: %w", p.what, err)
	}
	return data, nil
}
