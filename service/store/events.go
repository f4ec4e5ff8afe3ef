package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"realname/model"
	"realname/service/clock"

	"gorm.io/gorm"
)

// EventHash is the chain hash of an event: its content and its
// predecessor's hash.
func EventHash(e model.VerificationEvent) string {
	h := sha256.New()
	vid := int64(0)
	if e.VerificationID != nil {
		vid = *e.VerificationID
	}
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d", e.PrevHash, vid, e.Type, e.FromState, e.ToState, e.Actor, e.Data, e.CreatedAt.UnixMilli())
	return hex.EncodeToString(h.Sum(nil))
}

// AppendEvent appends an event to verification vid's chain without
// changing its state (a claim, a reveal). Erased verifications take none.
func (s *Store) AppendEvent(ctx context.Context, vid int64, e Event) (model.Verification, error) {
	return s.Step(ctx, vid, func(context.Context, *model.Verification) (Change, error) {
		return Change{Event: e.Type, Actor: e.Actor, Data: e.Data}, nil
	})
}

// Append writes e at the end of its chain inside tx, for writers that
// hold their own transaction (staff account changes, logins, seeded
// histories). A verification's chain head is read from, and written back
// to, its row under the row lock; an erased verification takes no event.
// Events about no verification chain per actor, serialised by the acting
// admin's row lock. CreatedAt defaults to tx's clock.
func Append(ctx context.Context, tx *gorm.DB, e model.VerificationEvent) (model.VerificationEvent, error) {
	tx = tx.WithContext(ctx)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = tx.NowFunc()
	}
	e.CreatedAt = clock.Stored(e.CreatedAt)
	if e.Data == "" {
		e.Data = "{}"
	}
	e.ID = 0
	if e.VerificationID != nil {
		var v model.Verification
		if err := locking(tx.Select("id", "chain_head", "erased_at").Where("id = ?", *e.VerificationID)).Take(&v).Error; err != nil {
			return e, fmt.Errorf("store: lock chain: %w", err)
		}
		if v.ErasedAt != nil {
			return e, ErrErased
		}
		e.PrevHash = v.ChainHead
		e.Hash = EventHash(e)
		if err := tx.Create(&e).Error; err != nil {
			return e, fmt.Errorf("store: append event: %w", err)
		}
		if err := tx.Model(&model.Verification{}).Where("id = ?", v.ID).UpdateColumn("chain_head", e.Hash).Error; err != nil {
			return e, fmt.Errorf("store: chain head: %w", err)
		}
		return e, nil
	}
	if id, ok := AdminID(e.Actor); ok {
		var got []int64
		if err := locking(tx.Model(&model.AdminUser{}).Where("id = ?", id)).Pluck("id", &got).Error; err != nil {
			return e, fmt.Errorf("store: lock actor chain: %w", err)
		}
	}
	var prev model.VerificationEvent
	head := tx.Model(&model.VerificationEvent{}).Where("verification_id IS NULL AND actor = ?", e.Actor).Order("id DESC").Limit(1)
	if err := head.Find(&prev).Error; err != nil {
		return e, fmt.Errorf("store: actor chain head: %w", err)
	}
	e.PrevHash = prev.Hash
	e.Hash = EventHash(e)
	if err := tx.Create(&e).Error; err != nil {
		return e, fmt.Errorf("store: append event: %w", err)
	}
	return e, nil
}

// AdminID parses a staff actor, "admin:<id>"; ok is false for users and
// the system.
func AdminID(actor string) (int64, bool) {
	rest, found := strings.CutPrefix(actor, "admin:")
	if !found {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

// AppendAction appends a staff or system action that concerns no case (an
// endpoint added, an API key made) to the actor's chain, in its own
// transaction. data is stored as JSON: codes and masked values only.
func (s *Store) AppendAction(ctx context.Context, actor, typ string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("store: action data: %w", err)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		_, err := Append(ctx, s.Conn(ctx), model.VerificationEvent{Type: typ, Actor: actor, Data: string(raw)})
		return err
	})
}
