package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"realname/model"
)

// responseKeep is how much of an answer an attempt records.
const responseKeep = 1 << 10

// drainLimit is how much more of an answer is read and dropped so the
// connection can be reused; a larger answer costs a new connection.
const drainLimit = 64 << 10

// result is what one POST came to.
type result struct {
	ok         bool
	status     int // 0 when no answer came
	latency    time.Duration
	response   string
	err        string
	retryAfter time.Duration // the receiver's Retry-After on 429/503
}

// send POSTs the event to the target once, signed, within Options.Timeout.
func (s *Service) send(ctx context.Context, ev *model.WebhookEvent, t *target) result {
	if ev == nil {
		return result{err: "webhook: the event row is gone"}
	}
	raw, err := body(ev)
	if err != nil {
		return result{err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(raw))
	if err != nil {
		return result{err: fmt.Sprintf("webhook: request: %v", err)}
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "realname-webhooks/1")
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, signatureHeader(t.keys, ev.ID, ts, raw))
	propagate(ctx, req.Header)
	client := s.strict
	if t.allowPrivate {
		client = s.private
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{latency: time.Since(start), err: describe(err, s.opts.Timeout)}
	}
	defer resp.Body.Close()
	kept, _ := io.ReadAll(io.LimitReader(resp.Body, responseKeep))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	r := result{status: resp.StatusCode, latency: time.Since(start), response: printable(kept)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.ok = true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		r.err = fmt.Sprintf("redirect refused: HTTP %d to %q; configure the final URL", resp.StatusCode, resp.Header.Get("Location"))
	default:
		r.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		r.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return r
}

// describe turns a client error into the attempt's error text, without
// the "Post <url>:" prefix the admin pages show beside it anyway.
func describe(err error, timeout time.Duration) string {
	var blocked *BlockedError
	if errors.As(err, &blocked) {
		return blocked.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("no answer within %v", timeout)
		}
		err = ue.Err
	}
	return err.Error()
}

// printable keeps an answer storable in a text column on every database:
// valid UTF-8 and no NUL bytes (PostgreSQL refuses both).
func printable(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		// A date centuries ahead would overflow the duration (Sub
		// saturates at 292 years): the same year's cap as for seconds.
		return min(t.Sub(now), 365*24*time.Hour)
	}
	return 0
}
