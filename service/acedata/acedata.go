// Package acedata is the transport shared by the two Acedata providers,
// ID-card recognition (service/ocr) and name/ID verification
// (service/idcheck): one endpoint, one authorization header, one error
// shape. Each provider maps the answers to its own outcomes.
package acedata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"realname/service/transport"
)

// Name is the provider name in config, metrics and attempt records.
const Name = "acedata"

// DefaultBase is the API root used when none is configured.
const DefaultBase = "https://api.acedata.cloud"

// Path is the endpoint below the API root. The vendor document ("ID Card
// Recognition and Information Verification") shows the request only as a
// form in its console and names no path; this is the path Ace Data Cloud
// publishes for that API.
const Path = "/identity/idcard/ocr"

// maxAnswer bounds the answer read: one card's fields are a few hundred bytes.
const maxAnswer = 64 << 10

// Client posts JSON requests with the key in the authorization header.
//
// Readings of the document, which leaves these open: the request is POST
// with a JSON body and the headers accept: application/json and
// authorization; the document says authorization carries "the key to call
// the API", so the configured key is sent verbatim (Ace Data Cloud's own
// examples write "Bearer <token>", and a key configured with that prefix is
// sent as it is).
type Client struct {
	endpoint string
	key      string
	client   *http.Client
}

// New builds a client. baseURL is the API root (DefaultBase when empty);
// client nil means one with a 10 s timeout, a backstop behind the caller's
// context deadline.
func New(baseURL, key string, client *http.Client) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBase
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("acedata: base %q is not an http(s) URL", baseURL)
	}
	if strings.TrimSpace(key) == "" {
		return nil, errors.New("acedata: key is empty")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{endpoint: u.String() + Path, key: key, client: client}, nil
}

// HTTPError is a non-200 answer. Message is the vendor's text, kept for
// classification only: it may echo the request, so Error never shows it.
type HTTPError struct {
	Status  int
	Code    string // the body's error.code, or "http_<status>"
	Message string
}

func (e *HTTPError) Error() string {
	meaning := "unexpected status"
	switch {
	case e.Status == http.StatusBadRequest:
		meaning = "bad request"
	case e.Status == http.StatusUnauthorized:
		meaning = "key invalid or missing"
	case e.Status == http.StatusTooManyRequests:
		meaning = "rate limit exceeded"
	case e.Status >= 500:
		meaning = "server error"
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, meaning)
}

// Post sends body and decodes the 200 answer into out. Errors are an
// *HTTPError, or a transport/decoding error that never quotes the request
// (which holds a photo or a name and number).
func (c *Client) Post(ctx context.Context, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return errors.New("encode request failed")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(raw))
	if err != nil {
		return errors.New("build request failed")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.key)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("request: %w", transport.Cause(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return ParseHTTPError(resp.StatusCode, data)
	}
	if len(data) > maxAnswer {
		return fmt.Errorf("answer is over %d bytes", maxAnswer)
	}
	if err := json.Unmarshal(data, out); err != nil {
		// The JSON error quotes no input, only offsets and types.
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// ParseHTTPError reads a non-200 answer's body.
func ParseHTTPError(status int, body []byte) *HTTPError {
	var f struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &f)
	e := &HTTPError{Status: status, Code: f.Error.Code, Message: f.Error.Message}
	if e.Code == "" || len(e.Code) > 64 {
		e.Code = "http_" + strconv.Itoa(status)
	}
	return e
}
