package webhook

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"realname/model"
	"realname/service/tracing/spans"
)

// TraceWith makes the dispatcher record a span per delivery attempt
// ("webhook.deliver") and per fan-out pass that moved events
// ("webhook.fanout"), each linked to the step that wrote its events. Call
// it before Run; without it nothing is traced.
func (s *Service) TraceWith(tp trace.TracerProvider) {
	s.tracer = spans.Tracer(tp, "service/webhook")
}

func (s *Service) tracerOrNoop() trace.Tracer {
	if s.tracer == nil {
		return spans.Tracer(nil, "")
	}
	return s.tracer
}

// deliver is send in a span of its own trace, linked to the step that wrote
// the event: a delivery goes out later, maybe retried hours on, from any
// instance, so it is not a child of that request. It records the endpoint,
// the event's type and id, the attempt and the answer's status; never the
// URL (its path or query may hold a token) nor the payload (it names the
// user).
func (s *Service) deliver(ctx context.Context, d *model.WebhookDelivery, ev *model.WebhookEvent, t *target) result {
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(spans.KeyEndpointID.Int64(d.EndpointID), spans.KeyAttempt.Int(d.Attempts+1))}
	if ev != nil {
		opts = append(opts, trace.WithAttributes(spans.KeyEventType.String(ev.Type), spans.KeyEventID.String(ev.ID)))
		if link, ok := spans.LinkTo(ev.TraceParent); ok {
			opts = append(opts, trace.WithLinks(link))
		}
	}
	ctx, span := s.tracerOrNoop().Start(ctx, "webhook.deliver", opts...)
	r := s.send(ctx, ev, t)
	if r.status != 0 {
		span.SetAttributes(spans.KeyStatusCode.Int(r.status))
	}
	outcome := spans.OutcomeOK
	if !r.ok {
		outcome = resultClass(r.status) // "error" when no answer came: refused, timed out, blocked
	}
	spans.End(span, outcome, !r.ok)
	return r
}

// propagate puts the delivery span's traceparent on the POST. The
// receivers are the company's own systems: one that traces continues our
// delivery span, and one that does not ignores the header. It is not
// signed (Standard Webhooks signs id, timestamp and body) and carries only
// random ids; caller baggage is never forwarded (spans.Outbound).
func propagate(ctx context.Context, h http.Header) {
	spans.Outbound().Inject(ctx, propagation.HeaderCarrier(h))
}

// traceFanout records, after the fact, a fan-out pass that moved events,
// linked to the steps that wrote them: a span per idle poll would bury
// everything else.
func (s *Service) traceFanout(ctx context.Context, start time.Time, events []model.WebhookEvent, deliveries int) {
	if len(events) == 0 {
		return
	}
	var links []trace.Link
	for _, ev := range events {
		if link, ok := spans.LinkTo(ev.TraceParent); ok {
			links = append(links, link)
		}
	}
	_, span := s.tracerOrNoop().Start(ctx, "webhook.fanout", trace.WithNewRoot(), trace.WithTimestamp(start), trace.WithLinks(links...),
		trace.WithAttributes(spans.KeyCount.Int(len(events)), spans.KeyDeliveries.Int(deliveries)))
	span.SetAttributes(spans.KeyOutcome.String(spans.OutcomeOK))
	span.End()
}
