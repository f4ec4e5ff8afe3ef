package token

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
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
	return &Traced{Fetcher: f, tracer: spans.Tracer(tp, "service/token")}
}

// Fetch fetches in a span.
func (t *Traced) Fetch(ctx context.Context, app App, force bool) (Token, error) {
	ctx, span := t.tracer.Start(ctx, "wechat.token", trace.WithAttributes(spans.KeyProvider.String("wechat"),
		spans.KeyAppID.String(app.AppID), spans.KeyForce.Bool(force)))
	tok, err := t.Fetcher.Fetch(ctx, app, force)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			spans.End(span, "refused", true, spans.KeyVendorCode.String(strconv.Itoa(ae.Code)))
		} else {
			spans.End(span, spans.OutcomeFailed, true)
		}
		return tok, err
	}
	spans.End(span, spans.OutcomeOK, false)
	return tok, nil
}
