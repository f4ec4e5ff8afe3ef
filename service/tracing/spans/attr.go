// Package spans holds what the services need to make spans of their own:
// the attribute keys, End, the links between traces and the outbound
// propagator. It is apart from package tracing, which sets up the SDK and
// its exporters (gRPC, protobuf), so that a service and its tests need only
// the light OpenTelemetry API.
package spans

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Attribute keys of realname's own spans. Each holds a code, a count, an
// internal id or a provider's name, never personal data: no name, ID
// number, openid, unionid, phone number, address or photo, and no error
// text (a vendor may echo what it was sent in its message).
const (
	KeyProvider       = attribute.Key("realname.provider")        // ocr/idcheck/face vendor, "wechat"
	KeyOutcome        = attribute.Key("realname.outcome")         // what the call or step came to
	KeyVendorCode     = attribute.Key("realname.vendor_code")     // the vendor's own result or error code
	KeyStep           = attribute.Key("realname.step")            // the audit event a store step wrote
	KeyAttempts       = attribute.Key("realname.attempts")        // transaction attempts, lock conflicts included
	KeyVerificationID = attribute.Key("realname.verification_id") // our row id, as in the logs
	KeyToState        = attribute.Key("realname.to_state")        // the state a step moved to
	KeyEndpointID     = attribute.Key("realname.webhook.endpoint_id")
	KeyEventType      = attribute.Key("realname.webhook.event_type")
	KeyEventID        = attribute.Key("realname.webhook.event_id") // the webhook-id header receivers log
	KeyAttempt        = attribute.Key("realname.webhook.attempt")  // 1 for the first try of a delivery
	KeyStatusCode     = attribute.Key("http.response.status_code")
	KeyCount          = attribute.Key("realname.count") // rows a batch or a sweep handled
	KeyDeliveries     = attribute.Key("realname.webhook.deliveries")
	KeyAppID          = attribute.Key("realname.app_id") // the Mini Program's appid: ours, not the user's
	KeyForce          = attribute.Key("realname.force")  // a token refresh forced past a valid token
)

// Outcomes shared by several kinds of span.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// End ends span with its outcome and attrs (an empty string among them is
// left out: a vendor that gave no code). A failure sets the span's status
// to Error with the outcome as the description: a code, never err.Error().
func End(span trace.Span, outcome string, failed bool, attrs ...attribute.KeyValue) {
	span.SetAttributes(KeyOutcome.String(outcome))
	for _, kv := range attrs {
		if kv.Value.Type() != attribute.STRING || kv.Value.AsString() != "" {
			span.SetAttributes(kv)
		}
	}
	if failed {
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}

// OwnScope starts the instrumentation scope name of realname's own tracers
// ("realname/service/store", …): their status descriptions are outcome
// codes and are kept; other libraries' are dropped.
const OwnScope = "realname/"

// Tracer is tp's tracer for one of our packages (name under OwnScope); a
// nil tp gives a no-op tracer, so a service built without one traces
// nothing.
func Tracer(tp trace.TracerProvider, name string) trace.Tracer {
	if tp == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return tp.Tracer(OwnScope + name)
}
