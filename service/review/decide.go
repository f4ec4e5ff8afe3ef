package review

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/pii"
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
// conditional UPDATE is the arbiter.
func (s *Service) Claim(ctx context.Context, vid, adminID int64) error {
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&model.Verification{}).
			Where("id = ? AND state = ?", vid, model.StateReview).
			Where("claimed_by IS NULL OR claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?", now, adminID).
			Updates(map[string]any{"claimed_by": adminID, "claimed_until": now.Add(s.opts.ClaimTTL)})
		if res.Error != nil {
			return fmt.Errorf("review: claim: %w", res.Error)
		}
		v, err := s.load(ctx, tx, vid)
		if err != nil {
			return err
		}
		// MySQL counts only changed rows; the reload tells who holds it.
		if res.RowsAffected == 0 {
			if err := s.explainClaim(v, adminID, now); err != nil {
				return err
			}
		}
		_, err = AppendEvent(ctx, tx, staffEvent(v, EventClaimed, adminID, map[string]any{"until": now.Add(s.opts.ClaimTTL)}))
		return err
	})
}

// explainClaim says why adminID does not hold a live claim on v, or nil
// when they do.
func (s *Service) explainClaim(v model.Verification, adminID int64, now time.Time) error {
	live := v.ClaimedBy != nil && v.ClaimedUntil != nil && !v.ClaimedUntil.Before(now)
	switch {
	case v.State != model.StateReview:
		return fmt.Errorf("%w: %s", ErrInvalidState, v.State)
	case live && *v.ClaimedBy == adminID:
		return nil
	case live:
		return &ClaimedError{By: *v.ClaimedBy, Until: *v.ClaimedUntil}
	}
	return ErrNotClaimed
}

// Release gives up adminID's claim.
func (s *Service) Release(ctx context.Context, vid, adminID int64) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&model.Verification{}).Where("id = ? AND claimed_by = ?", vid, adminID).
			Updates(map[string]any{"claimed_by": nil, "claimed_until": nil})
		if res.Error != nil {
			return fmt.Errorf("review: release: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotClaimed
		}
		v, err := s.load(ctx, tx, vid)
		if err != nil {
			return err
		}
		_, err = AppendEvent(ctx, tx, staffEvent(v, EventReleased, adminID, map[string]any{}))
		return err
	})
}

// hold checks that adminID holds a live claim and extends it, so it cannot
// lapse to another reviewer while the decision is written.
func (s *Service) hold(ctx context.Context, vid, adminID int64) (model.Verification, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&model.Verification{}).
		Where("id = ? AND state = ? AND claimed_by = ? AND claimed_until >= ?", vid, model.StateReview, adminID, now).
		Update("claimed_until", now.Add(s.opts.ClaimTTL))
	if res.Error != nil {
		return model.Verification{}, fmt.Errorf("review: hold claim: %w", res.Error)
	}
	v, err := s.load(ctx, s.db, vid)
	if err != nil {
		return v, err
	}
	if res.RowsAffected == 0 {
		if err := s.explainClaim(v, adminID, now); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Approve verifies the case. When the authoritative check called the pair
// a mismatch, the first approval is only recorded ("approval_requested")
// and the claim released; a different reviewer's approval then decides.
func (s *Service) Approve(ctx context.Context, vid, adminID int64, note string) (Outcome, error) {
	v, err := s.hold(ctx, vid, adminID)
	if err != nil {
		return Outcome{}, err
	}
	need, err := s.needsSecond(ctx, v)
	if err != nil {
		return Outcome{}, err
	}
	if need {
		first, err := s.pendingApproval(ctx, vid)
		if err != nil {
			return Outcome{}, err
		}
		if first == Actor(adminID) {
			return Outcome{}, ErrSameReviewer
		}
		if first == "" {
			return Outcome{State: v.State, Pending: true}, s.requestApproval(ctx, v, adminID, note)
		}
	}
	return s.review(ctx, vid, adminID, true, "", note)
}

// requestApproval records a first approval and frees the case for the
// second reviewer.
func (s *Service) requestApproval(ctx context.Context, v model.Verification, adminID int64, note string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		data := map[string]any{"first_approval": Actor(adminID)}
		if note != "" {
			data["note"] = cleanNote(note)
		}
		if _, err := AppendEvent(ctx, tx, staffEvent(v, EventApprovalRequested, adminID, data)); err != nil {
			return err
		}
		return tx.Model(&model.Verification{}).Where("id = ? AND claimed_by = ?", v.ID, adminID).
			Updates(map[string]any{"claimed_by": nil, "claimed_until": nil}).Error
	})
}

// Reject rejects the case with one of RejectReasons.
func (s *Service) Reject(ctx context.Context, vid, adminID int64, reason, note string) (Outcome, error) {
	if !slices.Contains(RejectReasons, reason) {
		return Outcome{}, ErrUnknownReason
	}
	if _, err := s.hold(ctx, vid, adminID); err != nil {
		return Outcome{}, err
	}
	return s.review(ctx, vid, adminID, false, reason, note)
}

// RequestResubmit ends the case as rejected with ReasonResubmit: the user
// is asked to start again with new photos.
func (s *Service) RequestResubmit(ctx context.Context, vid, adminID int64, note string) (Outcome, error) {
	if _, err := s.hold(ctx, vid, adminID); err != nil {
		return Outcome{}, err
	}
	return s.review(ctx, vid, adminID, false, ReasonResubmit, note)
}

// review runs the transition through verify, then files the note.
func (s *Service) review(ctx context.Context, vid, adminID int64, approve bool, reason, note string) (Outcome, error) {
	v, err := s.decide.Review(ctx, vid, adminID, approve, reason, note)
	if err != nil {
		return Outcome{}, wrapState(err)
	}
	if note != "" {
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			_, err := AppendEvent(ctx, tx, staffEvent(v, EventNote, adminID, map[string]any{"note": cleanNote(note)}))
			return err
		})
		if err != nil {
			// The decision stands; only the note is missing.
			s.log.Error("recording a review note failed", "verification", vid, "err", err)
		}
	}
	return Outcome{State: v.State}, nil
}

// cleanNote bounds a note and masks ID and phone numbers in it: notes sit
// in the audit chain in clear, so they must not carry personal data.
func cleanNote(note string) string {
	if utf8.RuneCountInString(note) > maxNote {
		note = string([]rune(note)[:maxNote])
	}
	return pii.MaskText(note)
}

// needsSecond reports whether approving v needs two reviewers: the
// authoritative check answered "mismatch".
func (s *Service) needsSecond(ctx context.Context, v model.Verification) (bool, error) {
	if v.Reason == verify.ReasonMismatch {
		return true, nil
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&model.ProviderAttempt{}).
		Where("verification_id = ? AND kind = ? AND outcome = ?", v.ID, "idcheck", "mismatch").Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("review: check attempts: %w", err)
	}
	return n > 0, nil
}

// pendingApproval returns the actor of a first approval recorded since the
// case last entered review, or "".
func (s *Service) pendingApproval(ctx context.Context, vid int64) (string, error) {
	var entered model.VerificationEvent
	err := s.db.WithContext(ctx).Where("verification_id = ? AND to_state = ? AND from_state <> ?", vid, model.StateReview, model.StateReview).
		Order("id DESC").Limit(1).Find(&entered).Error
	if err != nil {
		return "", fmt.Errorf("review: pending approval: %w", err)
	}
	var first model.VerificationEvent
	err = s.db.WithContext(ctx).Where("verification_id = ? AND type = ? AND id > ?", vid, EventApprovalRequested, entered.ID).
		Order("id DESC").Limit(1).Find(&first).Error
	if err != nil {
		return "", fmt.Errorf("review: pending approval: %w", err)
	}
	return first.Actor, nil
}
