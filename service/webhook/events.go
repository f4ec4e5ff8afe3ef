package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"realname/model"
)

// EventTypes lists the event types endpoints can subscribe to. They are
// written by service/verify (its Hook* constants; a test keeps the two in
// step) and repeated here because verify calls into this package.
func EventTypes() []string {
	return []string{
		"verification.recognized",
		"verification.verified",
		"verification.rejected",
		"verification.review_required",
		"verification.reviewed",
		"verification.expired",
		"verification.revoked",
		"user.data_erased",
		"stepup.passed",
		"stepup.failed",
	}
}

// normalizeTypes checks a subscription list: known types, or a family
// wildcard such as "verification.*". An empty list means every type.
func normalizeTypes(in []string) ([]string, error) {
	var out []string
	for _, t := range in {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(out, t) {
			continue
		}
		ok := slices.Contains(EventTypes(), t)
		if family, wild := strings.CutSuffix(t, ".*"); wild {
			ok = slices.ContainsFunc(EventTypes(), func(k string) bool { return strings.HasPrefix(k, family+".") })
		}
		if !ok {
			return nil, invalid("unknown_event_type", "unknown event type %q (known: %s, or a family such as verification.*)",
				t, strings.Join(EventTypes(), ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// splitTypes reads the stored comma list.
func splitTypes(stored string) []string {
	if stored == "" {
		return nil
	}
	return strings.Split(stored, ",")
}

// subscribed reports whether an endpoint with the stored type list wants
// events of type t.
func subscribed(stored, t string) bool {
	if stored == "" {
		return true
	}
	for _, want := range splitTypes(stored) {
		if want == t {
			return true
		}
		if family, wild := strings.CutSuffix(want, ".*"); wild && strings.HasPrefix(t, family+".") {
			return true
		}
	}
	return false
}

// envelope is the body of every delivery. The id is the outbox row's, the
// same on every retry, so receivers deduplicate on it.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// body renders the JSON an endpoint receives for ev.
func body(ev *model.WebhookEvent) ([]byte, error) {
	b, err := json.Marshal(envelope{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC(), Data: json.RawMessage(ev.Payload)})
	if err != nil {
		return nil, fmt.Errorf("webhook: event %s has a payload that is not JSON: %w", ev.ID, err)
	}
	return b, nil
}
