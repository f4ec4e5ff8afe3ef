package tracing

import (
	"realname/service/tracing/spans"

	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// scrubbing is the last stop before an exporter. The instrumentation
// libraries record what they see of a request: the raw path
// (/server/v1/users/<openid>/…), the query, the client's address, the user
// agent, a Redis error quoting a command's arguments. What our own code
// records is safe by construction (attr.go); this makes the libraries'
// safe too, whatever a future version adds under these keys, and is what
// the flow test checks the output of.
type scrubbing struct{ sdktrace.SpanExporter }

// ExportSpans hands the scrubbed spans on.
func (s scrubbing) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	clean := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, sp := range spans {
		clean[i] = scrubbed{sp}
	}
	return s.SpanExporter.ExportSpans(ctx, clean)
}

// scrubbed shows a span without the attributes that may carry personal
// data. Embedding the interface keeps every other method as it is.
type scrubbed struct{ sdktrace.ReadOnlySpan }

func (s scrubbed) Attributes() []attribute.KeyValue { return scrubAttrs(s.ReadOnlySpan.Attributes()) }

func (s scrubbed) Events() []sdktrace.Event {
	events := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(events))
	for i, e := range events {
		e.Attributes = scrubAttrs(e.Attributes)
		out[i] = e
	}
	return out
}

func (s scrubbed) Links() []sdktrace.Link {
	links := s.ReadOnlySpan.Links()
	out := make([]sdktrace.Link, len(links))
	for i, l := range links {
		l.Attributes = scrubAttrs(l.Attributes)
		out[i] = l
	}
	return out
}

// Status keeps the code; the description only of our own spans (an
// outcome code). A library's is an error's text: a Redis error may quote
// the command, a transport error the URL.
func (s scrubbed) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	if st.Code == codes.Error && !strings.HasPrefix(s.InstrumentationScope().Name, spans.OwnScope) {
		st.Description = ""
	}
	return st
}

// scrubAttrs drops or trims what a library fills from the request, the
// connection or an error. The route template (http.route) stays: it names
// the endpoint without the openid in its path.
func scrubAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, kv := range attrs {
		switch kv.Key {
		case "url.path", "url.query", "url.fragment", "http.target", "http.url", // raw paths and queries
			"client.address", "client.port", "network.peer.address", "network.peer.port", // the user's address
			"http.client_ip", "net.peer.ip", "net.sock.peer.addr",
			"user_agent.original", "http.user_agent",
			"db.statement", "db.query.text", // commands with their arguments
			"exception.message", "exception.stacktrace": // an error's text
			continue
		case "url.full":
			kv = attribute.String(string(kv.Key), withoutQuery(kv.Value.AsString()))
		}
		out = append(out, kv)
	}
	return out
}

// withoutQuery keeps scheme, host and path of an outbound URL: the query
// may hold an access_token or a vendor key, the user part a password.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
