package tracing

import (
	"realname/service/tracing/spans"

	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// clearOTEL blanks the OTEL_* variables the process may have been started
// with, for the rest of the test.
func clearOTEL(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

func TestOffWithoutAnEndpoint(t *testing.T) {
	clearOTEL(t)
	for name, env := range map[string]map[string]string{
		"nothing set":     {},
		"protocol alone":  {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "x"},
		"sdk disabled":    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"},
		"exporter none":   {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
		"real env, blank": nil,
	} {
		t.Run(name, func(t *testing.T) {
			getenv := func(k string) string { return env[k] }
			if env == nil {
				getenv = os.Getenv
			}
			p, err := FromEnv(context.Background(), getenv, "test")
			if err != nil {
				t.Fatal(err)
			}
			if p.Enabled() || p.sdk != nil || p.Protocol() != "" {
				t.Fatalf("tracing on: %+v", p)
			}
			if _, ok := p.TracerProvider().(noop.TracerProvider); !ok {
				t.Fatalf("provider %T, want the no-op one", p.TracerProvider())
			}
			_, span := p.TracerProvider().Tracer("x").Start(context.Background(), "y")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("a no-op provider recorded a span")
			}
			rt := http.DefaultTransport
			if p.Transport(rt) != rt || p.InstrumentRedis(nil) != nil || p.Shutdown(context.Background()) != nil {
				t.Error("off, the transport is wrapped or Redis instrumented or shutdown fails")
			}
		})
	}
}

func TestUnknownProtocolIsRefused(t *testing.T) {
	clearOTEL(t)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
	if _, err := FromEnv(context.Background(), func(k string) string { return env[k] }, "test"); err == nil ||
		!strings.Contains(err.Error(), "http/json") {
		t.Fatalf("err %v", err)
	}
}

// received collects what an OTLP receiver was sent.
type received struct {
	mu       sync.Mutex
	requests int
	names    []string
	attrs    map[string]string // span name + "/" + key → value
	resource map[string]string
}

func (r *received) add(req *collectortrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.attrs == nil {
		r.attrs, r.resource = map[string]string{}, map[string]string{}
	}
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.Resource.Attributes {
			r.resource[kv.Key] = kv.Value.GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				r.names = append(r.names, sp.Name)
				for _, kv := range sp.Attributes {
					r.attrs[sp.Name+"/"+kv.Key] = kv.Value.GetStringValue()
				}
			}
		}
	}
}

// export sends one span through a provider built from the environment and
// flushes it with Shutdown.
func export(t *testing.T) {
	t.Helper()
	p, err := FromEnv(context.Background(), os.Getenv, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled() {
		t.Fatal("tracing off with an endpoint set")
	}
	_, span := p.TracerProvider().Tracer(spans.OwnScope+"test").Start(context.Background(), "GET /server/v1/users/:openid/verification",
		trace.WithAttributes(attribute.String("url.path", "/server/v1/users/o6_bmjrPTlm6_2sgVt7hMZOPfL2M/verification"),
			attribute.String("http.route", "/server/v1/users/:openid/verification")))
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (r *received) check(t *testing.T, protocol string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.requests == 0 || !slices.Contains(r.names, "GET /server/v1/users/:openid/verification") {
		t.Fatalf("%s: %d requests, spans %v", protocol, r.requests, r.names)
	}
	if _, ok := r.attrs["GET /server/v1/users/:openid/verification/url.path"]; ok {
		t.Errorf("%s: the raw path was exported", protocol)
	}
	if r.attrs["GET /server/v1/users/:openid/verification/http.route"] == "" {
		t.Errorf("%s: the route was not exported", protocol)
	}
	if r.resource["service.name"] != "realname-test" || r.resource["service.version"] != "v1.2.3" || r.resource["deployment.environment"] != "ci" {
		t.Errorf("%s: resource %v", protocol, r.resource)
	}
}

func TestExportsByOTLPHTTP(t *testing.T) {
	clearOTEL(t)
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
			proto.Unmarshal(body, &req) != nil {
			t.Errorf("%s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "realname-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
	export(t)
	got.check(t, "http/protobuf")
}

type traceServer struct {
	collectortrace.UnimplementedTraceServiceServer
	got *received
}

func (s traceServer) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.got.add(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestExportsByOTLPGRPC(t *testing.T) {
	clearOTEL(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got received
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, traceServer{got: &got})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	// The _TRACES_ variants win over the general ones.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	t.Setenv("OTEL_SERVICE_NAME", "realname-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
	export(t)
	got.check(t, "grpc")
}
