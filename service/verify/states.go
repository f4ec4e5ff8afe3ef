package verify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// transitions is the state machine: from → the states it may move to.
// Staying in draft/recognized (another photo read) is an update, not a
// transition, and is written the same way.
var transitions = map[string][]string{
	model.StateDraft:      {model.StateDraft, model.StateRecognized, model.StateChecking, model.StateExpired},
	model.StateRecognized: {model.StateRecognized, model.StateChecking, model.StateExpired},
	model.StateChecking:   {model.StateVerified, model.StateRejected, model.StateReview},
	model.StateReview:     {model.StateVerified, model.StateRejected},
}

// Allowed reports whether the machine permits from → to.
func Allowed(from, to string) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether a state is an end: no further transition.
func Terminal(state string) bool { return len(transitions[state]) == 0 }

// change is one transition with what to record about it.
type change struct {
	to    string
	event string         // audit event type, e.g. "idcard_read", "decided"
	actor string         // user:<id>, admin:<id>, system
	data  map[string]any // audit data: codes, attempts, masked values only
	set   map[string]any // extra columns to write with the state
	hook  string         // webhook event type to write to the outbox; "" for none
}

// apply moves v to c.to inside tx: version check, audit event, outbox row.
// On success v reflects the new row.
func (s *Service) apply(ctx context.Context, tx *gorm.DB, v *model.Verification, c change) error {
	if !Allowed(v.State, c.to) {
		return fmt.Errorf("%w: %s → %s", ErrInvalidState, v.State, c.to)
	}
	now := s.now()
	cols := map[string]any{"state": c.to, "version": v.Version + 1, "updated_at": now}
	for k, val := range c.set {
		cols[k] = val
	}
	res := tx.WithContext(ctx).Model(&model.Verification{}).
		Where("id = ? AND version = ?", v.ID, v.Version).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("verify: update verification: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%w: changed by another request", ErrInvalidState)
	}
	from := v.State
	if err := tx.WithContext(ctx).First(v, v.ID).Error; err != nil {
		return fmt.Errorf("verify: reload: %w", err)
	}
	if err := s.appendEvent(ctx, tx, v.ID, c.event, from, c.to, c.actor, c.data, now); err != nil {
		return err
	}
	if c.hook != "" {
		return s.outbox(ctx, tx, v, c.hook, now)
	}
	return nil
}

// appendEvent writes an audit event chained to the previous one of the
// same verification, so a deleted or edited entry breaks the chain.
func (s *Service) appendEvent(ctx context.Context, tx *gorm.DB, vid int64, typ, from, to, actor string, data map[string]any, now time.Time) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("verify: event data: %w", err)
	}
	var prev model.VerificationEvent
	head := tx.WithContext(ctx).Where("verification_id = ?", vid).Order("id DESC").Limit(1)
	if tx.Name() != model.DialectSQLite {
		// A locking read sees the newest committed head even under MySQL's
		// REPEATABLE READ snapshot, and holds off a concurrent staff event:
		// the chain cannot fork.
		head = head.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err = head.Find(&prev).Error
	if err != nil {
		return fmt.Errorf("verify: previous event: %w", err)
	}
	e := model.VerificationEvent{VerificationID: &vid, Type: typ, FromState: from, ToState: to, Actor: actor,
		Data: string(raw), PrevHash: prev.Hash, CreatedAt: now}
	e.Hash = EventHash(e)
	if err := tx.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("verify: append event: %w", err)
	}
	return nil
}

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

// Webhook event types. Receivers subscribe by these names.
const (
	HookRecognized     = "verification.recognized"
	HookVerified       = "verification.verified"
	HookRejected       = "verification.rejected"
	HookReviewRequired = "verification.review_required"
	HookReviewed       = "verification.reviewed"
	HookExpired        = "verification.expired"
	HookDataErased     = "user.data_erased"
)

// decisionHook names the event for a machine decision.
func decisionHook(state string) string {
	switch state {
	case model.StateVerified:
		return HookVerified
	case model.StateRejected:
		return HookRejected
	}
	return HookReviewRequired
}

// WebhookPayload is what business systems receive about a verification:
// masked values only, enough to find their own user by openid. Version only
// grows, so receivers can order events and drop stale ones; Final says no
// further change will come.
type WebhookPayload struct {
	VerificationID int64     `json:"verification_id"`
	AppID          string    `json:"appid"`
	OpenID         string    `json:"openid"`
	UnionID        string    `json:"unionid,omitempty"`
	State          string    `json:"state"`
	Reason         string    `json:"reason,omitempty"`
	Mode           string    `json:"mode"`
	NameMasked     string    `json:"name_masked,omitempty"`
	IDNumberMasked string    `json:"id_number_masked,omitempty"`
	Version        int64     `json:"version"`
	Final          bool      `json:"final"`
	At             time.Time `json:"at"`
}

// outbox writes the webhook event in the transition's transaction, so a
// decision is never lost nor announced without being stored.
func (s *Service) outbox(ctx context.Context, tx *gorm.DB, v *model.Verification, hook string, now time.Time) error {
	var u model.User
	if err := tx.WithContext(ctx).First(&u, v.UserID).Error; err != nil {
		return fmt.Errorf("verify: outbox user: %w", err)
	}
	p := WebhookPayload{VerificationID: v.ID, AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, State: v.State,
		Reason: v.Reason, Mode: v.Mode, NameMasked: v.NameMasked, IDNumberMasked: v.IDNumberMasked,
		Version: v.Version, Final: Terminal(v.State), At: now}
	raw, _ := json.Marshal(p)
	vid := v.ID
	ev := model.WebhookEvent{ID: newEventID(), Type: hook, VerificationID: &vid, Payload: string(raw), CreatedAt: now}
	if err := tx.WithContext(ctx).Create(&ev).Error; err != nil {
		return fmt.Errorf("verify: outbox: %w", err)
	}
	return nil
}

func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}

// latest returns the user's newest verification, or ErrNoVerification.
func latest(ctx context.Context, db *gorm.DB, userID int64) (model.Verification, error) {
	var v model.Verification
	err := db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Limit(1).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, ErrNoVerification
	}
	if err != nil {
		return v, fmt.Errorf("verify: latest: %w", err)
	}
	return v, nil
}
