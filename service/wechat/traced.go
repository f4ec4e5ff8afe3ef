package wechat

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"realname/service/tracing/spans"
)

// Traced records a span per login exchange ("wechat.code2session") and
// subscription message ("wechat.subscribe_send"): the app, the outcome and
// WeChat's errcode. Never the code, the openid or unionid it answers, the
// session_key, nor the message's recipient and words.
type Traced struct {
	*Client
	tracer trace.Tracer
}

// NewTraced wraps c; a nil tp traces nothing.
func NewTraced(c *Client, tp trace.TracerProvider) *Traced {
	return &Traced{Client: c, tracer: spans.Tracer(tp, "service/wechat")}
}

// Code2Session exchanges a login code in a span.
func (t *Traced) Code2Session(ctx context.Context, appID, code string) (Session, error) {
	ctx, span := t.start(ctx, "wechat.code2session", appID)
	s, err := t.Client.Code2Session(ctx, appID, code)
	endCall(span, err, map[error]string{ErrInvalidCode: "invalid_code", ErrRateLimited: "rate_limited",
		ErrRiskyUser: "risky_user", ErrUnknownApp: "unknown_app"})
	return s, err
}

// SendSubscribe sends a subscription message in a span.
func (t *Traced) SendSubscribe(ctx context.Context, appID string, msg SubscribeMessage) error {
	ctx, span := t.start(ctx, "wechat.subscribe_send", appID)
	err := t.Client.SendSubscribe(ctx, appID, msg)
	endCall(span, err, map[error]string{ErrUnknownApp: "unknown_app"})
	return err
}

func (t *Traced) start(ctx context.Context, name, appID string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(spans.KeyProvider.String("wechat"), spans.KeyAppID.String(appID)))
}

// endCall ends a call's span with the answer's class: WeChat's refusal of
// the user or the code is an answer (not a failure of the call), anything
// else a failure, with the errcode when WeChat gave one.
func endCall(span trace.Span, err error, answers map[error]string) {
	if err == nil {
		spans.End(span, spans.OutcomeOK, false)
		return
	}
	for target, outcome := range answers {
		if errors.Is(err, target) {
			spans.End(span, outcome, false)
			return
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		spans.End(span, "refused", true, spans.KeyVendorCode.String(strconv.Itoa(ae.Code)))
		return
	}
	spans.End(span, spans.OutcomeFailed, true)
}
