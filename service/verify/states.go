package verify

import (
	"fmt"

	"realname/service/store"
)

// Webhook event types. Receivers subscribe by these names.
const (
	HookRecognized     = "verification.recognized"
	HookVerified       = "verification.verified"
	HookRejected       = "verification.rejected"
	HookReviewRequired = "verification.review_required"
	HookReviewed       = "verification.reviewed"
	HookExpired        = "verification.expired"
	HookRevoked        = "verification.revoked"
	HookDataErased     = store.HookDataErased
)

// WebhookPayload is what business systems receive about a verification.
type WebhookPayload = store.WebhookPayload

// EventHash is the chain hash of an audit event (store.EventHash).
var EventHash = store.EventHash

// decisionHook names the event for a machine decision.
func decisionHook(state store.State) string {
	switch state {
	case store.Verified:
		return HookVerified
	case store.Rejected:
		return HookRejected
	}
	return HookReviewRequired
}

func actorUser(id int64) string { return fmt.Sprintf("user:%d", id) }
