package ocr

import "context"

// Limiter makes a call wait its turn under a vendor's rate limit
// (ratelimit.Shared: counted across every instance). An error means the
// call must not be sent.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Throttled is p with each call waiting its turn under l first. A call
// whose turn is too far away is not sent: it fails as ErrProvider with
// code "rate_limited_here", so the chain moves to the next vendor and the
// attempt says why.
func Throttled(p Provider, l Limiter) Provider { return &throttled{Provider: p, l: l} }

type throttled struct {
	Provider
	l Limiter
}

// CodeRateLimitedHere is the attempt code of a call our shared limiter
// held back.
const CodeRateLimitedHere = "rate_limited_here"

func (t *throttled) Recognize(ctx context.Context, req Request) (Result, error) {
	if err := t.l.Wait(ctx); err != nil {
		return Result{}, &Error{Provider: t.Name(), Kind: ErrProvider, Code: CodeRateLimitedHere, Err: err}
	}
	return t.Provider.Recognize(ctx, req)
}
