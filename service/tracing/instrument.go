package tracing

import (
	"realname/service/tracing/spans"

	"context"
	"net/http"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps rt, the vendors' transport, so each HTTP call is a client
// span and carries traceparent (a vendor ignores it; our own token server
// or a proxy may log it). Off, rt is returned as it is.
func (p *Provider) Transport(rt http.RoundTripper) http.RoundTripper {
	if !p.Enabled() {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(p.tp), otelhttp.WithPropagators(spans.Outbound()),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// InstrumentRedis makes each Redis command a span, named by the command
// alone: no statement (keys can name a user), no caller lookup. Only
// commands run for a traced operation get one: background polling would
// otherwise start a trace per command. Off, it does nothing.
func (p *Provider) InstrumentRedis(rdb redis.UniversalClient) error {
	if !p.Enabled() {
		return nil
	}
	return redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(childrenOnly{p.tp}),
		redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
}

// childrenOnly gives tracers that start a span only under another one.
// Embedding the interface satisfies its unexported methods.
type childrenOnly struct{ trace.TracerProvider }

func (c childrenOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{c.TracerProvider.Tracer(name, opts...)}
}

type childTracer struct{ trace.Tracer }

func (t childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx) // a non-recording span
	}
	return t.Tracer.Start(ctx, name, opts...)
}
