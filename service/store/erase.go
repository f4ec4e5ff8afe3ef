package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/tracing/spans"
)

// HookDataErased is the webhook event type that tells business systems to
// erase their copy of a user's data.
const HookDataErased = "user.data_erased"

// Erasure is what an erasure did.
type Erasure struct {
	VerificationIDs []int64  // verifications erased now
	Blobs           []string // photo refs to delete once committed
	Emitted         bool     // a user.data_erased event was written
}

// Erase wipes the user's personal data on their request (PIPL's right to
// deletion) and wins every race: under the user's and each verification's
// row lock, every verification not yet erased moves to Erased (from any
// state, a check in flight included) with its personal columns wiped, its
// attempts' readings, webhook payloads and sealed notes wiped, and the user's ID
// bindings released. Every later write to those verifications is refused
// with ErrErased. An erasure that finds nothing new to erase (a repeated
// DELETE) writes nothing and emits no event.
func (s *Store) Erase(ctx context.Context, userID int64, actor string) (Erasure, error) {
	var out Erasure
	err := s.InTx(ctx, func(ctx context.Context) error {
		out = Erasure{}
		t := state(ctx)
		if err := t.flush(); err != nil { // the chains below start from the rows' written heads
			return err
		}
		tx := s.conn(ctx)
		var u model.User
		if err := locking(tx.Where("id = ?", userID)).Take(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("store: user %d: %w", userID, ErrNotFound)
			}
			return fmt.Errorf("store: lock user: %w", err)
		}
		var vs []model.Verification
		if err := locking(tx.Where("user_id = ? AND erased_at IS NULL", userID)).Order("id").Find(&vs).Error; err != nil {
			return fmt.Errorf("store: erase: %w", err)
		}
		now := s.clk.Now()
		var events []model.VerificationEvent
		for _, v := range vs {
			for _, ref := range []string{v.FrontBlob, v.BackBlob} {
				if ref != "" {
					out.Blobs = append(out.Blobs, ref)
				}
			}
			e, err := s.newEvent(v.ID, "erased", actor, nil, v.State, Erased, v.ChainHead, now)
			if err != nil {
				return err
			}
			events = append(events, e)
			wiped := model.Verification{State: Erased, Version: v.Version + 1, UpdatedAt: now, ErasedAt: &now, ChainHead: e.Hash}
			// Every personal column goes: the sealed ones, and the masked
			// values, lookup hash, photos and notes beside them.
			cols := []string{"state", "version", "updated_at", "erased_at", "chain_head", "name_masked", "id_number_hash",
				"id_number_masked", "front_blob", "back_blob", "front_hash", "back_hash", "claimed_by", "claimed_until",
				"user_note", "user_note_digest"}
			for _, col := range wiped.Sealed() {
				cols = append(cols, col.Name) // nil in wiped
			}
			if v.PhotosDeletedAt == nil {
				wiped.PhotosDeletedAt, cols = &now, append(cols, "photos_deleted_at")
			}
			if err := tx.Model(&model.Verification{}).Where("id = ?", v.ID).Select(cols).UpdateColumns(&wiped).Error; err != nil {
				return fmt.Errorf("store: erase verification: %w", err)
			}
			dropped := model.Notification{Status: model.NotifyDropped, UpdatedAt: now}
			if err := tx.Model(&model.Notification{}).Where("verification_id = ? AND status = ?", v.ID, model.NotifyPending).
				Select("status", "updated_at", "lease_until").UpdateColumns(&dropped).Error; err != nil {
				return fmt.Errorf("store: drop notifications: %w", err)
			}
			if err := tx.Model(&model.WebhookEvent{}).Where("verification_id = ?", v.ID).
				UpdateColumn("payload", fmt.Sprintf(`{"verification_id":%d,"erased":true}`, v.ID)).Error; err != nil {
				return fmt.Errorf("store: erase payloads: %w", err)
			}
			out.VerificationIDs = append(out.VerificationIDs, v.ID)
			delete(t.rows, v.ID)
		}
		if len(out.VerificationIDs) > 0 {
			if err := tx.Model(&model.ProviderAttempt{}).Where("verification_id IN ?", out.VerificationIDs).
				UpdateColumn("fields_enc", nil).Error; err != nil {
				return fmt.Errorf("store: erase attempts: %w", err)
			}
			// Notes and reasons staff or business systems wrote: the
			// chain keeps their digests, the words go.
			if err := tx.Where("verification_id IN ?", out.VerificationIDs).Delete(&model.EventText{}).Error; err != nil {
				return fmt.Errorf("store: erase texts: %w", err)
			}
			if err := eraseFaceChecks(tx, out.VerificationIDs); err != nil {
				return err
			}
			if err := eraseStepUps(tx, out.VerificationIDs); err != nil {
				return err
			}
			if err := tx.Create(&events).Error; err != nil {
				return fmt.Errorf("store: append event: %w", err)
			}
		}
		if err := tx.Where("user_id = ?", userID).Delete(&model.IDBinding{}).Error; err != nil {
			return fmt.Errorf("store: release bindings: %w", err)
		}
		if u.ErasedAt != nil && len(out.VerificationIDs) == 0 {
			return nil // erased before, nothing since: no new event
		}
		erased := model.User{UpdatedAt: now, ErasedAt: u.ErasedAt}
		cols := []string{"session_key_enc", "updated_at"}
		if u.ErasedAt == nil {
			erased.ErasedAt, cols = &now, append(cols, "erased_at")
		}
		if err := tx.Model(&model.User{}).Where("id = ?", userID).Select(cols).UpdateColumns(&erased).Error; err != nil {
			return fmt.Errorf("store: erase user: %w", err)
		}
		// Business systems hold their own copy of what we told them: tell
		// them to erase it too, in the same transaction.
		raw, err := json.Marshal(map[string]any{"appid": u.AppID, "openid": u.OpenID, "unionid": u.UnionID,
			"verifications": len(out.VerificationIDs), "final": true, "at": now})
		if err != nil {
			return err
		}
		ev := model.WebhookEvent{ID: NewEventID(), Type: HookDataErased, Payload: string(raw), CreatedAt: now, AppID: u.AppID,
			TraceParent: spans.TraceParent(ctx)}
		if err := tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("store: outbox: %w", err)
		}
		t.outbox = true
		out.Emitted = true
		return nil
	})
	return out, err
}
