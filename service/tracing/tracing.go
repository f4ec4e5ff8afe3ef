// Package tracing sets up OpenTelemetry tracing for the process: an OTLP
// exporter when the standard OTEL_* variables name an endpoint, a no-op
// provider otherwise; the propagators; the instrumentation of Redis and of
// the vendor HTTP client; the scrubbing of whatever could be personal data
// from the spans that leave the process; and trace ids on log lines.
//
// Services never reach for a global provider: each is handed a
// trace.TracerProvider by the wiring and names its own tracer
// ("realname/service/…"). None of them records a name, an ID number, an
// openid or a unionid, nor an error's text, which a vendor may fill with
// what it was sent: they record codes and outcomes (see attr.go).
package tracing

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is service.name unless OTEL_SERVICE_NAME (or service.name in
// OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "realname"

// Protocols OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL may name.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf" // the specification's default
)

// Provider is the process's tracer provider and what it takes to stop it.
// A nil *Provider is off, like Off().
type Provider struct {
	tp       trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off: no exporter, no processor
	protocol string                   // the OTLP protocol exported with; "" otherwise
}

// Off is tracing switched off: a no-op provider, nothing started, nothing
// instrumented, no cost on the request path.
func Off() *Provider { return &Provider{tp: noop.NewTracerProvider()} }

// Enabled reports whether spans are recorded and exported.
func (p *Provider) Enabled() bool { return p != nil && p.sdk != nil }

// TracerProvider is what the services are handed; a no-op one when off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil {
		return noop.NewTracerProvider()
	}
	return p.tp
}

// Protocol is the OTLP protocol spans are exported with: grpc or
// http/protobuf; "" when off or given an exporter.
func (p *Provider) Protocol() string {
	if p == nil {
		return ""
	}
	return p.protocol
}

// Shutdown flushes the spans still queued to the exporter and stops it;
// the server calls it after its own shutdown, within the same timeout.
func (p *Provider) Shutdown(ctx context.Context) error {
	if !p.Enabled() {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// Inbound reads a request's trace context: W3C traceparent/tracestate and
// baggage.
func Inbound() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// FromEnv builds the provider the standard variables ask for. Tracing is on
// only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
// is set (and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none
// says otherwise); OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL picks grpc or
// http/protobuf (the default). getenv decides that much; the exporter and
// the SDK read the rest of their variables (endpoint, headers, timeout,
// OTEL_BSP_*, OTEL_TRACES_SAMPLER[_ARG], OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES) from the process environment themselves, so
// production passes os.Getenv.
func FromEnv(ctx context.Context, getenv func(string) string, version string) (*Provider, error) {
	endpoint := firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" || strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") ||
		strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return Off(), nil
	}
	protocol := firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if protocol == "" {
		protocol = ProtocolHTTPProtobuf
	}
	exp, err := newExporter(ctx, protocol)
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx, version)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	// The batcher reads OTEL_BSP_*; no sampler is set, so the SDK reads
	// OTEL_TRACES_SAMPLER and its argument (default: parent-based, always on).
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(scrubbing{exp}), sdktrace.WithResource(res))
	return &Provider{tp: sdk, sdk: sdk, protocol: protocol}, nil
}

// WithExporter is an enabled provider that hands every span to exp as it
// ends, through the same scrubbing as the OTLP exporter: for tests, with
// tracetest's in-memory exporter.
func WithExporter(exp sdktrace.SpanExporter, version string) *Provider {
	res, _ := newResource(context.Background(), version) // attributes only: cannot fail without OTEL_RESOURCE_ATTRIBUTES
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(scrubbing{exp}), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return &Provider{tp: sdk, sdk: sdk}
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

func newExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	switch protocol {
	case ProtocolHTTPProtobuf:
		return otlptracehttp.New(ctx)
	case ProtocolGRPC:
		return otlptracegrpc.New(ctx)
	}
	return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_PROTOCOL %q: only %s and %s are supported", protocol, ProtocolGRPC, ProtocolHTTPProtobuf)
}

// newResource describes this process: service name and version, overridden
// by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. Not the process's
// command line, which is how some deployments pass configuration.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", version)),
		resource.WithFromEnv())
	if err != nil {
		return res, fmt.Errorf("tracing: resource (OTEL_RESOURCE_ATTRIBUTES?): %w", err)
	}
	return res, nil
}
