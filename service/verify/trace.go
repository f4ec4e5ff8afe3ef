package verify

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
)

// WithTracer makes each sweeper run a span ("verify.sweep", with what it
// expired, rescued, asked again and deleted); the store steps and vendor
// calls of a rescue are its children. Without it nothing is traced.
func (s *Service) WithTracer(tp trace.TracerProvider) *Service {
	s.tracer = spans.Tracer(tp, "service/verify")
	return s
}

func (s *Service) startSweep(ctx context.Context) (context.Context, trace.Span) {
	t := s.tracer
	if t == nil {
		t = spans.Tracer(nil, "")
	}
	return t.Start(ctx, "verify.sweep", trace.WithNewRoot())
}

func endSweep(span trace.Span, st SweepStats, err error) {
	span.SetAttributes(attribute.Int("realname.sweep.expired", st.Expired), attribute.Int("realname.sweep.rescued", st.Rescued),
		attribute.Int("realname.sweep.rerun", st.Rerun), attribute.Int("realname.sweep.photos_deleted", st.PhotosDeleted),
		attribute.Int("realname.sweep.orphans", st.Orphans))
	if err != nil {
		spans.End(span, spans.OutcomeFailed, true)
		return
	}
	spans.End(span, spans.OutcomeOK, false)
}
