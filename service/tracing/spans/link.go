package spans

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceParent is the W3C traceparent of ctx's span, for a row that work
// started later must link back to (a webhook event); "" when ctx has no
// span or it is not sampled, so an untraced process stores nothing.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}

// LinkTo is a link to the span traceparent names, when it names one.
func LinkTo(traceparent string) (trace.Link, bool) {
	if traceparent == "" {
		return trace.Link{}, false
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent})
	sc := trace.SpanContextFromContext(ctx)
	return trace.Link{SpanContext: sc}, sc.IsValid()
}

// Outbound writes traceparent/tracestate on calls we make. Not baggage: what
// a caller put in it is theirs and may be anything, so it is never passed on
// to a vendor or a business system.
func Outbound() propagation.TextMapPropagator { return propagation.TraceContext{} }
