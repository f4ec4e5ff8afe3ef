package face

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
)

// Traced records a span per call to a provider, "face.start" and
// "face.result", with the provider, the outcome (the verdict, or the
// error's kind) and the vendor's code. The Subject, a name and an ID
// number, is never recorded.
type Traced struct {
	Provider
	tracer trace.Tracer
}

// NewTraced wraps p; a nil tp traces nothing.
func NewTraced(p Provider, tp trace.TracerProvider) *Traced {
	return &Traced{Provider: p, tracer: spans.Tracer(tp, "service/face")}
}

// Start starts a check in a span.
func (t *Traced) Start(ctx context.Context, s Subject) (Ticket, error) {
	ctx, span := t.tracer.Start(ctx, "face.start", trace.WithAttributes(spans.KeyProvider.String(t.Name())))
	tk, err := t.Provider.Start(ctx, s)
	if err != nil {
		spans.End(span, errorKind(err), true)
		return tk, err
	}
	spans.End(span, spans.OutcomeOK, false)
	return tk, nil
}

// Result asks a check's result in a span.
func (t *Traced) Result(ctx context.Context, s Subject, tk Ticket) (Result, error) {
	ctx, span := t.tracer.Start(ctx, "face.result", trace.WithAttributes(spans.KeyProvider.String(t.Name())))
	r, err := t.Provider.Result(ctx, s, tk)
	if err != nil {
		spans.End(span, errorKind(err), true)
		return r, err
	}
	spans.End(span, string(r.Outcome), false, spans.KeyVendorCode.String(r.Code))
	return r, nil
}
