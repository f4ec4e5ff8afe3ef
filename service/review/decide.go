package review

import (
	"context"
	"fmt"
	"slices"

	"realname/model"
	"realname/service/store"
	"realname/service/verify"
)

// ReasonResubmit is the reason of a case rejected so that the user sends a
// new one: the rejection ends this verification, and the Mini Program's
// next upload starts a fresh one (verify opens a new draft after a
// rejected verification).
const ReasonResubmit = "resubmit_requested"

// RejectReasons are the codes a reviewer may reject with. They become the
// verification's reason and reach business systems in the webhook.
var RejectReasons = []string{
	"name_id_mismatch", "id_number_invalid", "card_expired", "under_min_age", "id_already_bound",
	"photo_unreadable", "not_original_document", "suspected_fraud", "rejected_by_reviewer",
}

// maxNote bounds a reviewer's note.
const maxNote = 1000

// Outcome is what a decision did.
type Outcome struct {
	State   string // the case's state afterwards
	Pending bool   // a first approval was recorded; a second reviewer must confirm
}

// Claim takes the case for adminID, or renews their claim, unless another
// reviewer holds a live claim. Two reviewers never hold one case: the
// claim is checked and written under the case's row lock.
func (s *Service) Claim(ctx context.Context, vid, adminID int64) error {
	return wrapState(s.store.Claim(ctx, vid, adminID, Actor(adminID), s.now().Add(s.opts.ClaimTTL)))
}

// Release gives up adminID's claim.
func (s *Service) Release(ctx context.Context, vid, adminID int64) error {
	return wrapState(s.store.Release(ctx, vid, adminID, Actor(adminID)))
}

// Approve verifies the case. When the authoritative check called the pair
// a mismatch, the first approval is only recorded ("approval_requested")
// and the claim released; a different reviewer's approval then decides.
// Claim, state, four-eyes rule, binding, transition and note are checked
// and written in one transaction.
func (s *Service) Approve(ctx context.Context, vid, adminID int64, note string) (Outcome, error) {
	pending := false
	v, err := s.store.Step(ctx, vid, func(ctx context.Context, v *model.Verification) (store.Change, error) {
		pending = false
		if err := store.HeldBy(v, adminID, s.now()); err != nil {
			return store.Change{}, err
		}
		need, err := s.needsSecond(ctx, *v)
		if err != nil {
			return store.Change{}, err
		}
		if need {
			first, err := s.pendingApproval(ctx, v.ID)
			if err != nil {
				return store.Change{}, err
			}
			if first == Actor(adminID) {
				return store.Change{}, ErrSameReviewer
			}
			if first == "" {
				pending = true
				c := store.Change{Event: EventApprovalRequested, Actor: Actor(adminID),
					Data: map[string]any{"first_approval": Actor(adminID)}, Set: store.Patch{ReleaseClaim: true}}
				if note != "" {
					t, _, err := verify.FreeText(s.crypto, v, "note", note, maxNote)
					if err != nil {
						return store.Change{}, err
					}
					c.Texts = []store.Text{t}
				}
				return c, nil
			}
		}
		if len(v.IDNumberHash) > 0 {
			if err := s.store.BindBeyond(ctx, v); err != nil {
				return store.Change{}, err
			}
		}
		return s.decision(v, adminID, store.Verified, "", note)
	})
	if err != nil {
		return Outcome{}, wrapState(err)
	}
	return Outcome{State: string(v.State), Pending: pending}, nil
}

// Reject rejects the case with one of RejectReasons.
func (s *Service) Reject(ctx context.Context, vid, adminID int64, reason, note string) (Outcome, error) {
	if !slices.Contains(RejectReasons, reason) {
		return Outcome{}, ErrUnknownReason
	}
	return s.reject(ctx, vid, adminID, reason, note)
}

// RequestResubmit ends the case as rejected with ReasonResubmit: the user
// is asked to start again with new photos.
func (s *Service) RequestResubmit(ctx context.Context, vid, adminID int64, note string) (Outcome, error) {
	return s.reject(ctx, vid, adminID, ReasonResubmit, note)
}

func (s *Service) reject(ctx context.Context, vid, adminID int64, reason, note string) (Outcome, error) {
	v, err := s.store.Step(ctx, vid, func(_ context.Context, v *model.Verification) (store.Change, error) {
		if err := store.HeldBy(v, adminID, s.now()); err != nil {
			return store.Change{}, err
		}
		return s.decision(v, adminID, store.Rejected, reason, note)
	})
	if err != nil {
		return Outcome{}, wrapState(err)
	}
	return Outcome{State: string(v.State)}, nil
}

// decision is a staff decision's step: the transition, the claim released,
// who decided, the reviewer's note on the same chain (its digest; the
// words sealed where erasure reaches them), and the message to the user
// queued with it.
func (s *Service) decision(v *model.Verification, adminID int64, to store.State, reason, note string) (store.Change, error) {
	c := store.Change{To: to, Event: "reviewed", Actor: Actor(adminID), Hook: verify.HookReviewed,
		Set:  store.Patch{Reason: &reason, DecidedBy: &adminID, ReleaseClaim: true},
		Data: map[string]any{"approve": to == store.Verified, "reason": reason, "note_len": len(note)}}
	if s.opts.NotifyUser {
		c.Notify = model.NotifyReviewResult
	}
	if note == "" {
		return c, nil
	}
	t, _, err := verify.FreeText(s.crypto, v, "note", note, maxNote)
	if err != nil {
		return store.Change{}, err
	}
	c.Extra = []store.Event{{Type: EventNote, Actor: Actor(adminID), Texts: []store.Text{t}}}
	if reason == ReasonResubmit {
		// A resubmit request's note says what the user should do; it
		// reaches them in their status, masked like every note.
		c.Set.UserNoteDigest = store.Ptr(t.Digest)
	}
	return c, nil
}

// needsSecond reports whether approving v needs two reviewers: the
// authoritative check answered "mismatch".
func (s *Service) needsSecond(ctx context.Context, v model.Verification) (bool, error) {
	if v.Reason == verify.ReasonMismatch {
		return true, nil
	}
	mismatch, err := s.store.HasAttempt(ctx, v.ID, "idcheck", "mismatch")
	if err != nil {
		return false, fmt.Errorf("review: check attempts: %w", err)
	}
	return mismatch, nil
}

// pendingApproval returns the actor of a first approval recorded since the
// case last entered review, or "".
func (s *Service) pendingApproval(ctx context.Context, vid int64) (string, error) {
	first, err := s.store.LastEventSince(ctx, vid, EventApprovalRequested, store.Review)
	if err != nil {
		return "", fmt.Errorf("review: pending approval: %w", err)
	}
	return first.Actor, nil
}
