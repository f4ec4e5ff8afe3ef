package review

import (
	"strings"
	"testing"

	"realname/model"
	"realname/service/pii"
	"realname/service/store"
)

func testRing(t *testing.T) *pii.KeyRing {
	t.Helper()
	spec, err := pii.GenerateKeySpec()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func decide(t *testing.T, s *Service, to store.State, reason, note string) store.Change {
	t.Helper()
	c, err := s.decision(&model.Verification{ID: 7}, 1, to, reason, note)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecisionsQueueTheUsersMessage: with NotifyUser every staff decision
// queues the review-result message in its own step; without, none.
func TestDecisionsQueueTheUsersMessage(t *testing.T) {
	ring := testRing(t)
	on := &Service{crypto: ring, opts: Options{NotifyUser: true}}
	for _, c := range []store.Change{decide(t, on, store.Verified, "", ""), decide(t, on, store.Rejected, ReasonResubmit, "请重拍")} {
		if c.Notify != model.NotifyReviewResult {
			t.Errorf("%s: Notify %q", c.To, c.Notify)
		}
	}
	if c := decide(t, &Service{crypto: ring}, store.Verified, "", ""); c.Notify != "" {
		t.Errorf("without NotifyUser: Notify %q", c.Notify)
	}
}

// TestResubmitNoteReachesTheUser: the note of a resubmit request is the
// user's to read (by its digest; the words are sealed), masked of
// numbers; other notes stay with staff. No note enters the chain in clear.
func TestResubmitNoteReachesTheUser(t *testing.T) {
	ring := testRing(t)
	s := &Service{crypto: ring}
	c := decide(t, s, store.Rejected, ReasonResubmit, "背面反光，请在光线均匀处重拍 110101199005142138")
	if c.Set.UserNoteDigest == nil || len(c.Extra) != 1 || len(c.Extra[0].Texts) != 1 {
		t.Fatalf("user note %v, extra %+v", c.Set.UserNoteDigest, c.Extra)
	}
	text := c.Extra[0].Texts[0]
	if text.Digest != *c.Set.UserNoteDigest || c.Extra[0].Data != nil {
		t.Fatalf("note %+v, digest %q", c.Extra[0], *c.Set.UserNoteDigest)
	}
	words, err := ring.Decrypt(text.Sealed, store.TextAAD(7, text.Digest))
	if err != nil || !strings.Contains(string(words), "重拍") || strings.Contains(string(words), "110101199005142138") {
		t.Fatalf("sealed note %q, %v", words, err)
	}
	if c := decide(t, s, store.Rejected, "suspected_fraud", "internal: same device as case 12"); c.Set.UserNoteDigest != nil {
		t.Fatalf("a reject note reached the user: %q", *c.Set.UserNoteDigest)
	}
}
