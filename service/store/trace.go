package store

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"realname/model"
	"realname/service/tracing/spans"
)

// TraceWith makes the store record a span per step ("store.step": the
// audit event it wrote, the state it moved to, the verification, how many
// transaction attempts it took, lock conflicts included, and its outcome),
// and returns the store. Call it before the store is shared; without it
// nothing is traced.
func (s *Store) TraceWith(tp trace.TracerProvider) *Store {
	s.tracer = spans.Tracer(tp, "service/store")
	return s
}

// Step is one step of the flow on verification vid (see step), traced.
func (s *Store) Step(ctx context.Context, vid int64, decide func(ctx context.Context, v *model.Verification) (Change, error)) (model.Verification, error) {
	ctx, t := s.startStep(ctx)
	out, err := s.step(ctx, vid, t.watch(decide))
	t.end(vid, err)
	return out, err
}

// StepLatest is Step on the user's latest verification (see stepLatest),
// traced.
func (s *Store) StepLatest(ctx context.Context, userID int64, decide func(ctx context.Context, v *model.Verification) (Change, error)) (model.Verification, error) {
	ctx, t := s.startStep(ctx)
	out, err := s.stepLatest(ctx, userID, t.watch(decide))
	t.end(out.ID, err)
	return out, err
}

type attemptsKey struct{}

// countAttempt counts one run of a transaction for the step span in ctx.
func countAttempt(ctx context.Context) {
	if n, ok := ctx.Value(attemptsKey{}).(*int); ok {
		*n++
	}
}

// stepTrace is one step's span and what it learns while the step runs.
type stepTrace struct {
	span     trace.Span
	attempts int
	decided  Change // the last attempt's decision
	refused  bool   // the last attempt's decide returned an error
}

func (s *Store) startStep(ctx context.Context) (context.Context, *stepTrace) {
	tr := s.tracer
	if tr == nil {
		tr = spans.Tracer(nil, "")
	}
	t := &stepTrace{}
	ctx, t.span = tr.Start(ctx, "store.step")
	return context.WithValue(ctx, attemptsKey{}, &t.attempts), t
}

func (t *stepTrace) watch(decide func(ctx context.Context, v *model.Verification) (Change, error)) func(ctx context.Context, v *model.Verification) (Change, error) {
	return func(ctx context.Context, v *model.Verification) (Change, error) {
		c, err := decide(ctx, v)
		t.decided, t.refused = c, err != nil
		return c, err
	}
}

// end ends the span. A step inside a caller's transaction shows no
// attempts: that transaction's retries run the step again.
func (t *stepTrace) end(vid int64, err error) {
	if vid != 0 {
		t.span.SetAttributes(spans.KeyVerificationID.Int64(vid))
	}
	if t.attempts > 0 {
		t.span.SetAttributes(spans.KeyAttempts.Int(t.attempts))
	}
	if t.decided.Event != "" {
		t.span.SetAttributes(spans.KeyStep.String(t.decided.Event))
	}
	if t.decided.To != "" && err == nil && !t.decided.Cancel {
		t.span.SetAttributes(spans.KeyToState.String(string(t.decided.To)))
	}
	outcome, failed := stepOutcome(t.decided, t.refused, err)
	spans.End(t.span, outcome, failed)
}

// stepOutcome names what a step came to by its error's class, never its
// text.
func stepOutcome(c Change, refused bool, err error) (string, bool) {
	switch {
	case err == nil && c.Cancel:
		return "unchanged", false
	case err == nil:
		return spans.OutcomeOK, false
	case errors.Is(err, ErrErased):
		return "erased", false
	case errors.Is(err, ErrNotFound):
		return "not_found", false
	case errors.Is(err, ErrInvalidState):
		return "invalid_state", false
	case errors.Is(err, context.Canceled):
		return "canceled", true
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", true
	case Retryable(err):
		return "lock_conflict", true
	case refused:
		return "refused", false // the flow's own answer (a limit, a wrong state): nothing written
	}
	return "error", true
}
