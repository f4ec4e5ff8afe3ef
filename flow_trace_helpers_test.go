package main

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func filter(spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, sp := range spans {
		if match(sp) {
			out = append(out, sp)
		}
	}
	return out
}

func named(spans tracetest.SpanStubs, name string) tracetest.SpanStubs {
	return filter(spans, func(sp tracetest.SpanStub) bool { return sp.Name == name })
}

func names(spans tracetest.SpanStubs) []string {
	seen := map[string]bool{}
	var out []string
	for _, sp := range spans {
		if !seen[sp.Name] {
			seen[sp.Name] = true
			out = append(out, sp.Name)
		}
	}
	return out
}

func only(t *testing.T, spans tracetest.SpanStubs) tracetest.SpanStub {
	t.Helper()
	if len(spans) != 1 {
		t.Fatalf("%d spans %v, want one", len(spans), names(spans))
	}
	return spans[0]
}

// attr is the value of sp's attribute key as text, "" when it has none.
func attr(sp tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range sp.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// ancestor is sp's nearest ancestor whose name starts with prefix.
func ancestor(byID map[trace.SpanID]tracetest.SpanStub, sp tracetest.SpanStub, prefix string) *tracetest.SpanStub {
	for range 50 {
		up, ok := byID[sp.Parent.SpanID()]
		if !ok {
			return nil
		}
		if strings.HasPrefix(up.Name, prefix) {
			return &up
		}
		sp = up
	}
	return nil
}

// leaks lists where any of secrets shows in sp: its name, attributes,
// events, links, status and resource.
func leaks(sp tracetest.SpanStub, secrets []string) []string {
	var out []string
	look := func(where, text string) {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				out = append(out, fmt.Sprintf("%s holds %q", where, s))
			}
		}
	}
	kvs := func(where string, attrs []attribute.KeyValue) {
		for _, kv := range attrs {
			look(where+" "+string(kv.Key), kv.Value.Emit())
		}
	}
	look("name", sp.Name)
	kvs("attribute", sp.Attributes)
	for _, e := range sp.Events {
		look("event", e.Name)
		kvs("event "+e.Name, e.Attributes)
	}
	for _, l := range sp.Links {
		kvs("link", l.Attributes)
	}
	look("status", sp.Status.Description)
	if sp.Resource != nil {
		kvs("resource", sp.Resource.Attributes())
	}
	return out
}

// TestLeaksFindsWhatIsPlanted keeps the flow's scan honest: a value
// planted in each place it looks is found.
func TestLeaksFindsWhatIsPlanted(t *testing.T) {
	const v = "110101199003076176"
	for _, sp := range []tracetest.SpanStub{
		{Name: "x" + v},
		{Attributes: []attribute.KeyValue{attribute.StringSlice("a", []string{"b", v})}},
		{Events: []sdktrace.Event{{Name: "e", Attributes: []attribute.KeyValue{attribute.String("exception.message", "bad "+v)}}}},
		{Links: []sdktrace.Link{{Attributes: []attribute.KeyValue{attribute.String("l", v)}}}},
		{Status: sdktrace.Status{Code: codes.Error, Description: v}},
	} {
		if len(leaks(sp, []string{v})) != 1 {
			t.Errorf("not found in %+v", sp)
		}
	}
	if got := leaks(tracetest.SpanStub{Name: "clean", Attributes: []attribute.KeyValue{attribute.Int("n", 1)}}, []string{v}); len(got) != 0 {
		t.Errorf("found in a clean span: %v", got)
	}
}
