package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/webhook"
)

// Current is the caller's status: their latest verification, or state
// "none" when they have not started.
func (s *Service) Current(ctx context.Context, u User) (View, error) {
	left := s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay)
	v, err := latest(ctx, s.db, u.ID)
	if errors.Is(err, ErrNoVerification) {
		return View{State: "none", AttemptsLeft: left, Missing: s.missing(card{})}, nil
	}
	if err != nil {
		return View{}, err
	}
	return s.view(&v, left)
}

// Erase deletes the user's photos and personal fields on their request
// (PIPL's right to deletion). The rows stay as an audit skeleton: states,
// times, reasons, event chain; webhook payloads lose their masked values.
func (s *Service) Erase(ctx context.Context, u User) error {
	var vs []model.Verification
	if err := s.db.WithContext(ctx).Where("user_id = ?", u.ID).Find(&vs).Error; err != nil {
		return fmt.Errorf("verify: erase: %w", err)
	}
	now := s.now()
	for _, v := range vs {
		for _, ref := range []string{v.FrontBlob, v.BackBlob} {
			if ref == "" {
				continue
			}
			if err := s.blobs.Delete(ctx, ref); err != nil {
				return fmt.Errorf("verify: erase photo: %w", err)
			}
		}
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&model.Verification{}).Where("id = ?", v.ID).Updates(map[string]any{
				"name_enc": nil, "name_masked": "", "id_number_enc": nil, "id_number_hash": nil, "id_number_masked": "",
				"fields_enc": nil, "corrections_enc": nil, "front_blob": "", "back_blob": "", "front_hash": nil, "back_hash": nil,
				"photos_deleted_at": &now, "erased_at": &now, "version": gorm.Expr("version + 1"), "updated_at": now,
			})
			if res.Error != nil {
				return res.Error
			}
			if err := tx.Model(&model.ProviderAttempt{}).Where("verification_id = ?", v.ID).Update("fields_enc", nil).Error; err != nil {
				return err
			}
			if err := tx.Model(&model.WebhookEvent{}).Where("verification_id = ?", v.ID).
				Update("payload", fmt.Sprintf(`{"verification_id":%d,"erased":true}`, v.ID)).Error; err != nil {
				return err
			}
			if err := tx.Where("verification_id = ?", v.ID).Delete(&model.IDBinding{}).Error; err != nil {
				return err
			}
			// Receivers' stored answers may echo the payload back.
			if err := webhook.Erase(ctx, tx, []int64{v.ID}); err != nil {
				return err
			}
			return s.appendEvent(ctx, tx, v.ID, "erased", v.State, v.State, actorUser(u.ID), map[string]any{}, now)
		})
		if err != nil {
			return fmt.Errorf("verify: erase: %w", err)
		}
	}
	// Business systems hold their own copy of what we told them: tell them
	// to erase it too, in the same transaction as the user row.
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var user model.User
		if err := tx.First(&user, u.ID).Error; err != nil {
			return err
		}
		if err := tx.Model(&model.User{}).Where("id = ?", u.ID).
			Updates(map[string]any{"session_key_enc": nil, "erased_at": &now}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&model.IDBinding{}).Error; err != nil {
			return err
		}
		raw, _ := json.Marshal(map[string]any{"appid": user.AppID, "openid": user.OpenID, "unionid": user.UnionID,
			"verifications": len(vs), "final": true, "at": now})
		return tx.Create(&model.WebhookEvent{ID: newEventID(), Type: HookDataErased, Payload: string(raw), CreatedAt: now}).Error
	})
	if err != nil {
		return fmt.Errorf("verify: erase user: %w", err)
	}
	return nil
}

// Review is a staff decision on a case in review.
func (s *Service) Review(ctx context.Context, vid, adminID int64, approve bool, reason, note string) (model.Verification, error) {
	var v model.Verification
	to := model.StateRejected
	if approve {
		to = model.StateVerified
	}
	if reason == "" && !approve {
		reason = "rejected_by_reviewer"
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&v, vid).Error; err != nil {
			return err
		}
		if v.State != model.StateReview {
			return fmt.Errorf("%w: %s", ErrInvalidState, v.State)
		}
		now := s.now()
		actor := fmt.Sprintf("admin:%d", adminID)
		if approve && len(v.IDNumberHash) > 0 {
			if err := s.bindApproved(ctx, tx, &v); err != nil {
				return err
			}
		}
		return s.apply(ctx, tx, &v, change{to: to, event: "reviewed", actor: actor, hook: HookReviewed,
			set:  map[string]any{"reason": reason, "decided_by": adminID, "decided_at": &now, "claimed_by": nil, "claimed_until": nil},
			data: map[string]any{"approve": approve, "reason": reason, "note_len": len(note)}})
	})
	return v, err
}

// bindApproved records the binding of a case staff approved. Staff may
// approve a number already bound to other accounts (a family sharing a
// phone, a re-registered account), so the slot goes past the policy's
// count instead of being refused.
func (s *Service) bindApproved(ctx context.Context, tx *gorm.DB, v *model.Verification) error {
	var slots []int
	if err := tx.WithContext(ctx).Model(&model.IDBinding{}).Where("id_number_hash = ?", v.IDNumberHash).Pluck("slot", &slots).Error; err != nil {
		return err
	}
	next := 0
	for _, sl := range slots {
		next = max(next, sl+1)
	}
	var mine int64
	if err := tx.WithContext(ctx).Model(&model.IDBinding{}).Where("id_number_hash = ? AND user_id = ?", v.IDNumberHash, v.UserID).Count(&mine).Error; err != nil || mine > 0 {
		return err
	}
	return tx.WithContext(ctx).Create(&model.IDBinding{IDNumberHash: v.IDNumberHash, Slot: next, UserID: v.UserID, VerificationID: v.ID}).Error
}

// SweepStats counts what one sweep did.
type SweepStats struct {
	Expired, Rescued, PhotosDeleted int
}

// Sweep expires abandoned verifications, sends checks interrupted by a
// crash to review, and deletes photos past their retention. It works in
// batches and is safe to run on every instance at once: each change is a
// versioned transition or an idempotent delete.
func (s *Service) Sweep(ctx context.Context, batch int) (SweepStats, error) {
	var st SweepStats
	now := s.now()
	var idle []model.Verification
	err := s.db.WithContext(ctx).Where("state IN ? AND updated_at < ?", []string{model.StateDraft, model.StateRecognized}, now.Add(-s.policy.IdleExpiry)).
		Order("updated_at").Limit(batch).Find(&idle).Error
	if err != nil {
		return st, fmt.Errorf("verify: sweep: %w", err)
	}
	for i := range idle {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.apply(ctx, tx, &idle[i], change{to: model.StateExpired, event: "expired", actor: "system", hook: HookExpired,
				set: map[string]any{"reason": "idle"}, data: map[string]any{"idle_for": s.policy.IdleExpiry.String()}})
		})
		if err == nil {
			st.Expired++
		} else if !errors.Is(err, ErrInvalidState) {
			return st, err
		}
	}
	var stuck []model.Verification
	err = s.db.WithContext(ctx).Where("state = ? AND updated_at < ?", model.StateChecking, now.Add(-s.policy.StuckChecking)).
		Limit(batch).Find(&stuck).Error
	if err != nil {
		return st, fmt.Errorf("verify: sweep: %w", err)
	}
	for i := range stuck {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.apply(ctx, tx, &stuck[i], change{to: model.StateReview, event: "decided", actor: "system", hook: HookReviewRequired,
				set: map[string]any{"reason": ReasonInterrupted}, data: map[string]any{"reason": ReasonInterrupted}})
		})
		if err == nil {
			st.Rescued++
		} else if !errors.Is(err, ErrInvalidState) {
			return st, err
		}
	}
	n, err := s.deleteOldPhotos(ctx, now, batch)
	st.PhotosDeleted = n
	return st, err
}

// deleteOldPhotos deletes the photos of verifications decided or expired
// longer than PhotoRetention ago. The candidates are read by
// ix_verifications_photos (photos_deleted_at, updated_at): a finished
// verification's updated_at is its decision or expiry (later writes to it
// are rare: an erasure, which deletes the photos itself). A candidate with
// no photo left is marked too, so no row is read twice.
func (s *Service) deleteOldPhotos(ctx context.Context, now time.Time, batch int) (int, error) {
	cutoff := now.Add(-s.policy.PhotoRetention)
	var old []model.Verification
	err := s.db.WithContext(ctx).Select("id", "state", "decided_at", "front_blob", "back_blob").
		Where("photos_deleted_at IS NULL AND updated_at < ?", cutoff).
		Where("(decided_at IS NOT NULL AND decided_at < ?) OR state = ?", cutoff, model.StateExpired).
		Order("updated_at").Limit(batch).Find(&old).Error
	if err != nil {
		return 0, fmt.Errorf("verify: sweep photos: %w", err)
	}
	done := 0
	for _, v := range old {
		for _, ref := range []string{v.FrontBlob, v.BackBlob} {
			if ref != "" {
				if err := s.blobs.Delete(ctx, ref); err != nil {
					return done, err
				}
			}
		}
		err := s.db.WithContext(ctx).Model(&model.Verification{}).Where("id = ?", v.ID).
			Updates(map[string]any{"front_blob": "", "back_blob": "", "photos_deleted_at": &now}).Error
		if err != nil {
			return done, err
		}
		if v.FrontBlob != "" || v.BackBlob != "" {
			done++
		}
	}
	return done, nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, interval)
		st, err := s.Sweep(sctx, 200)
		cancel()
		if err != nil {
			s.log.Error("sweep failed", "err", err)
		} else if st != (SweepStats{}) {
			s.log.Info("swept", "expired", st.Expired, "rescued", st.Rescued, "photos_deleted", st.PhotosDeleted)
		}
	}
}
