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

// appendAction writes an event about no verification at the end of its
// actor's chain, inside ctx's transaction (InTx): an admin's chain is
// serialised by that admin's row lock. CreatedAt is the connection's clock.
func (s *Store) appendAction(ctx context.Context, e model.VerificationEvent) error {
	tx := s.conn(ctx)
	e.CreatedAt = clock.Stored(tx.NowFunc())
	if id, ok := AdminID(e.Actor); ok {
		var got []int64
		if err := locking(tx.Model(&model.AdminUser{}).Where("id = ?", id)).Pluck("id", &got).Error; err != nil {
			return fmt.Errorf("store: lock actor chain: %w", err)
		}
	}
	var prev model.VerificationEvent
	head := tx.Model(&model.VerificationEvent{}).Where("verification_id IS NULL AND actor = ?", e.Actor).Order("id DESC").Limit(1)
	if err := head.Find(&prev).Error; err != nil {
		return fmt.Errorf("store: actor chain head: %w", err)
	}
	e.PrevHash = prev.Hash
	e.Hash = EventHash(e)
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("store: append event: %w", err)
	}
	return nil
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

// AppendAction appends a staff or system action that concerns no case (a
// sign-in, an account changed, an endpoint added, an API key made, a search)
// to the actor's chain, in ctx's transaction or its own, with the store's
// retry. A caller whose own rows must commit with the action writes them in
// the same InTx (through Joined). data is stored as JSON: codes and masked
// values only.
func (s *Store) AppendAction(ctx context.Context, actor, typ string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("store: action data: %w", err)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		return s.appendAction(ctx, model.VerificationEvent{Type: typ, Actor: actor, Data: string(raw)})
	})
}
