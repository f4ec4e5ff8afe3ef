package tracing

import (
	"realname/service/tracing/spans"

	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestScrubbing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := WithExporter(exp, "test")
	tp := p.TracerProvider()
	ctx, lib := tp.Tracer("github.com/some/library").Start(context.Background(), "GET unmatched", trace.WithAttributes(
		attribute.String("url.path", "/server/v1/users/o6_openid/verification"), attribute.String("url.query", "name=张三"),
		attribute.String("client.address", "203.0.113.7"), attribute.String("user_agent.original", "MicroMessenger"),
		attribute.String("db.statement", "GET realname:user:o6_openid"), attribute.String("http.route", "/x"),
		attribute.String("url.full", "https://u:p@api.weixin.qq.com/cv/ocr/idcard?access_token=SECRET&img_url=x")))
	lib.RecordError(errors.New("ERR unknown command 'x', with args beginning with: 'o6_openid'"))
	lib.SetStatus(codes.Error, "o6_openid")
	_, own := tp.Tracer(spans.OwnScope+"service/x").Start(ctx, "mine")
	own.SetStatus(codes.Error, "circuit_open")
	own.End()
	lib.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	got := spans[1]
	for _, kv := range got.Attributes {
		switch kv.Key {
		case "http.route":
		case "url.full":
			if v := kv.Value.AsString(); v != "https://api.weixin.qq.com/cv/ocr/idcard" {
				t.Errorf("url.full %q", v)
			}
		default:
			t.Errorf("kept %s=%s", kv.Key, kv.Value.Emit())
		}
	}
	if len(got.Events) != 1 || len(got.Events[0].Attributes) != 1 || got.Events[0].Attributes[0].Key != "exception.type" {
		t.Errorf("exception event %+v", got.Events)
	}
	if got.Status.Code != codes.Error || got.Status.Description != "" {
		t.Errorf("library status %+v", got.Status)
	}
	if spans[0].Status.Description != "circuit_open" {
		t.Errorf("our own status %+v", spans[0].Status)
	}
}

func TestRedisSpansOnlyUnderAnother(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := childrenOnly{WithExporter(exp, "test").TracerProvider()}
	_, orphan := tp.Tracer("redis").Start(context.Background(), "get")
	if orphan.IsRecording() {
		t.Error("a command outside any span got one")
	}
	orphan.End()
	ctx, parent := WithExporter(exp, "test").TracerProvider().Tracer("x").Start(context.Background(), "request")
	_, child := tp.Tracer("redis").Start(ctx, "get")
	if !child.IsRecording() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Error("a command inside a request got no span of its trace")
	}
}

func TestLogLinesCarryTheTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	log.InfoContext(context.Background(), "outside")
	ctx, span := WithExporter(tracetest.NewInMemoryExporter(), "test").TracerProvider().Tracer("x").Start(context.Background(), "request")
	log.InfoContext(ctx, "inside")
	span.End()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], "trace_id") ||
		!strings.Contains(lines[1], `"trace_id":"`+span.SpanContext().TraceID().String()+`"`) ||
		!strings.Contains(lines[1], `"span_id":"`+span.SpanContext().SpanID().String()+`"`) {
		t.Errorf("log lines:\n%s", buf.String())
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	if spans.TraceParent(context.Background()) != "" {
		t.Error("a traceparent without a span")
	}
	if _, ok := spans.LinkTo("garbage"); ok {
		t.Error("a link from garbage")
	}
	ctx, span := WithExporter(tracetest.NewInMemoryExporter(), "test").TracerProvider().Tracer("x").Start(context.Background(), "step")
	link, ok := spans.LinkTo(spans.TraceParent(ctx))
	if !ok || link.SpanContext.TraceID() != span.SpanContext().TraceID() || link.SpanContext.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("link %+v for span %+v", link.SpanContext, span.SpanContext())
	}
}
