package review

import (
	"testing"

	"realname/model"
	"realname/service/store"
)

// TestDecisionsQueueTheUsersMessage: with NotifyUser every staff decision
// queues the review-result message in its own step; without, none.
func TestDecisionsQueueTheUsersMessage(t *testing.T) {
	on := &Service{opts: Options{NotifyUser: true}}
	for _, c := range []store.Change{on.decision(1, store.Verified, "", ""), on.decision(1, store.Rejected, ReasonResubmit, "请重拍")} {
		if c.Notify != model.NotifyReviewResult {
			t.Errorf("%s: Notify %q", c.To, c.Notify)
		}
	}
	if c := (&Service{}).decision(1, store.Verified, "", ""); c.Notify != "" {
		t.Errorf("without NotifyUser: Notify %q", c.Notify)
	}
}
