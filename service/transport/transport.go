// Package transport holds what the upstream HTTP clients share about
// failed requests.
package transport

import (
	"errors"
	"net/url"
)

// Cause drops the *url.Error that net/http wraps around a transport
// failure and keeps its cause. The URL it would quote may carry a secret
// (classic cgi-bin/token) or a vendor key, and errors end up in logs and
// attempt records. The cause keeps its identity: a timeout stays
// errors.Is(err, context.DeadlineExceeded).
func Cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
