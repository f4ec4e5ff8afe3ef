package token

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing"
)

// Traced records a span per token fetch ("wechat.token": the app, whether
// a refresh was forced, WeChat's errcode when it refused). The request
// itself, which carries the app secret, is never recorded: this fetcher's
// HTTP client is left uninstrumented.
type Traced struct {
	Fetcher
	tracer trace.Tracer
}

// NewTraced wraps f; a nil tp traces nothing.
func NewTraced(f Fetcher, tp trace.TracerProvider) *Traced {
	return &Traced{Fetcher: f, tracer: tracing.Tracer(tp, "service/token")}
}

// Fetch fetches in a span.
func (t *Traced) Fetch(ctx context.Context, app App, force bool) (Token, error) {
	ctx, span := t.tracer.Start(ctx, "wechat.token", trace.WithAttributes(tracing.KeyProvider.String("wechat"),
		tracing.KeyAppID.String(app.AppID), tracing.KeyForce.Bool(force)))
	tok, err := t.Fetcher.Fetch(ctx, app, force)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			tracing.End(span, "refused", true, tracing.KeyVendorCode.String(strconv.Itoa(ae.Code)))
		} else {
			tracing.End(span, tracing.OutcomeFailed, true)
		}
		return tok, err
	}
	tracing.End(span, tracing.OutcomeOK, false)
	return tok, nil
}
