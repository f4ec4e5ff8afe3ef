package review

import (
	"strings"
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

// TestResubmitNoteReachesTheUser: the note of a resubmit request is the
// user's to read, masked of numbers; other notes stay with staff.
func TestResubmitNoteReachesTheUser(t *testing.T) {
	s := &Service{}
	c := s.decision(1, store.Rejected, ReasonResubmit, "背面反光，请在光线均匀处重拍 110101199005142138")
	if c.Set.UserNote == nil || !strings.Contains(*c.Set.UserNote, "重拍") || strings.Contains(*c.Set.UserNote, "110101199005142138") {
		t.Fatalf("user note %v", c.Set.UserNote)
	}
	if c := s.decision(1, store.Rejected, "suspected_fraud", "internal: same device as case 12"); c.Set.UserNote != nil {
		t.Fatalf("a reject note reached the user: %q", *c.Set.UserNote)
	}
}
