package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"realname/model"
	"realname/service/tracing/spans"
)

// Change is what one step writes: a transition (To) or, with To empty, a
// staff action on the case as it stands (a reveal, a first approval), with
// its audit event, any further events in the same chain, and the webhook
// outbox row.
type Change struct {
	To    State          // new state; "" keeps the state and the version
	Event string         // audit event type, e.g. "idcard_read", "decided"
	Actor string         // user:<id>, admin:<id>, system
	Data  map[string]any // audit data: codes, attempts, masked values only
	Hook  string         // webhook event type for the outbox; "" for none
	// HookData replaces the verification's payload in the outbox row, for
	// events about something else of the case (a step-up).
	HookData any
	Notify   string  // notification to the user queued with it (model.Notify*); "" for none
	Set      Patch   // columns written with it
	Extra    []Event // events appended after the main one (a reviewer's note)
	Texts    []Text  // free text of the main event, sealed; its data carries their digests
	Cancel   bool    // the callback decided to write nothing
}

// Event is one audit entry appended with a change.
type Event struct {
	Type  string
	Actor string
	Data  map[string]any
	Texts []Text // free text of the event, sealed; Data carries their digests
}

// Patch is the typed set of verification columns a step may write; nil
// fields are left as they are.
type Patch struct {
	Reason         *string
	Mode           *string // photo or check, and _face once a face check decided
	Provider       *string
	NameEnc        []byte
	NameMasked     *string
	IDNumberEnc    []byte
	IDNumberHash   []byte
	IDNumberMasked *string
	FieldsEnc      []byte
	CorrectionsEnc []byte
	FrontBlob      *string
	FrontHash      []byte
	BackBlob       *string
	BackHash       []byte
	DecidedBy      *int64
	UserNote       *string    // the reviewer's words to the user, before event_texts (only cleared now)
	UserNoteDigest *string    // the reviewer's words to the user: a Text of the same step
	ClaimedBy      *int64     // with ClaimedUntil: a reviewer's claim
	ClaimedUntil   *time.Time //
	ReleaseClaim   bool       // clears claimed_by and claimed_until
}

// Ptr returns a pointer to v, for Patch fields.
func Ptr[T any](v T) *T { return &v }

// apply writes p into v and returns cols with the names of the columns
// it set.
func (p Patch) apply(v *model.Verification, cols []string) []string {
	str := func(col string, src *string, dst *string) {
		if src != nil {
			*dst, cols = *src, append(cols, col)
		}
	}
	byt := func(col string, src []byte, dst *[]byte) {
		if src != nil {
			*dst, cols = src, append(cols, col)
		}
	}
	str("reason", p.Reason, &v.Reason)
	str("mode", p.Mode, &v.Mode)
	str("provider", p.Provider, &v.Provider)
	sealed := model.Verification{NameEnc: p.NameEnc, IDNumberEnc: p.IDNumberEnc, FieldsEnc: p.FieldsEnc, CorrectionsEnc: p.CorrectionsEnc}
	into := v.Sealed()
	for i, col := range sealed.Sealed() {
		byt(col.Name, *col.Value, into[i].Value)
	}
	str("name_masked", p.NameMasked, &v.NameMasked)
	byt("id_number_hash", p.IDNumberHash, &v.IDNumberHash)
	str("id_number_masked", p.IDNumberMasked, &v.IDNumberMasked)
	str("front_blob", p.FrontBlob, &v.FrontBlob)
	byt("front_hash", p.FrontHash, &v.FrontHash)
	str("back_blob", p.BackBlob, &v.BackBlob)
	byt("back_hash", p.BackHash, &v.BackHash)
	str("user_note", p.UserNote, &v.UserNote)
	str("user_note_digest", p.UserNoteDigest, &v.UserNoteDigest)
	if p.DecidedBy != nil {
		v.DecidedBy, cols = Ptr(*p.DecidedBy), append(cols, "decided_by")
	}
	if p.ClaimedBy != nil && p.ClaimedUntil != nil {
		v.ClaimedBy, v.ClaimedUntil = Ptr(*p.ClaimedBy), Ptr(*p.ClaimedUntil)
		cols = append(cols, "claimed_by", "claimed_until")
	}
	if p.ReleaseClaim {
		v.ClaimedBy, v.ClaimedUntil = nil, nil
		cols = append(cols, "claimed_by", "claimed_until")
	}
	return cols
}

// step is one step of the flow on verification vid: it locks the row,
// refuses an erased one (ErrErased), lets decide look at the row as it is
// now and say what to write, and writes it. decide runs inside the
// transaction (its ctx carries it, for reads and for other store calls
// that must commit with it) and may run more than once when the
// transaction is retried. v reflects the written row on success.
func (s *Store) step(ctx context.Context, vid int64, decide func(ctx context.Context, v *model.Verification) (Change, error)) (model.Verification, error) {
	var out model.Verification
	err := s.InTx(ctx, func(ctx context.Context) error {
		v, err := s.lock(ctx, vid)
		if err != nil {
			return err
		}
		if v.ErasedAt != nil || v.State == Erased {
			return ErrErased
		}
		c, err := decide(ctx, &v)
		if err != nil {
			return err
		}
		if c.Cancel {
			out = v
			return nil
		}
		if err := s.write(ctx, &v, c); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// write is the versioned write of a locked row: state, version, columns,
// chain head, then the events and the outbox row.
func (s *Store) write(ctx context.Context, v *model.Verification, c Change) error {
	now := s.clk.Now()
	from := v.State
	next := *v
	cols := make([]string, 0, 8)
	to := from
	if c.To != "" {
		if !Allowed(from, c.To) {
			return fmt.Errorf("%w: %s → %s", ErrInvalidState, from, c.To)
		}
		to = c.To
		next.State, next.Version, next.UpdatedAt = to, v.Version+1, now
		cols = append(cols, "state", "version", "updated_at")
		if Terminal(to) {
			// Photo retention counts from here: a case waiting in review
			// is not decided and keeps its photos.
			next.DecidedAt, cols = &now, append(cols, "decided_at")
		}
	}
	cols = c.Set.apply(&next, cols)
	t := state(ctx)
	events := append(make([]model.VerificationEvent, 0, 2+len(c.Extra)), t.pending[v.ID]...)
	head := v.ChainHead
	var texts []Text
	add := func(typ, actor string, data map[string]any, fromS, toS State, ts []Text) error {
		texts = append(texts, ts...)
		e, err := s.newEvent(v.ID, typ, actor, withDigests(data, ts), fromS, toS, head, now)
		if err != nil {
			return err
		}
		head = e.Hash
		events = append(events, e)
		return nil
	}
	if err := add(c.Event, c.Actor, c.Data, from, to, c.Texts); err != nil {
		return err
	}
	for _, e := range c.Extra {
		if err := add(e.Type, e.Actor, e.Data, to, to, e.Texts); err != nil {
			return err
		}
	}
	if err := s.saveTexts(ctx, v.ID, texts); err != nil {
		return err
	}
	next.ChainHead, cols = head, append(cols, "chain_head")
	q := s.conn(ctx).Model(&model.Verification{}).Where("id = ? AND version = ?", v.ID, v.Version)
	if t.seen[v.ID] {
		// Read before the transaction, not under the lock: every write of
		// the aggregate moves its chain head, so an unchanged head and
		// version say the row is still the one decide looked at.
		q = q.Where("chain_head = ?", v.ChainHead)
	}
	res := q.Select(cols).UpdateColumns(&next)
	if res.Error != nil {
		return fmt.Errorf("store: update verification: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		if t.seen[v.ID] {
			t.mustLock[v.ID] = true
			return errStale
		}
		return fmt.Errorf("%w: changed by another request", ErrInvalidState)
	}
	delete(t.seen, v.ID) // the UPDATE holds its lock now
	*v = next
	if err := s.conn(ctx).Create(&events).Error; err != nil {
		return fmt.Errorf("store: append event: %w", err)
	}
	delete(t.pending, v.ID)
	t.rows[v.ID] = *v
	if to != from {
		t.moved = append(t.moved, transition{from, to})
	}
	if c.Notify != "" {
		n := model.Notification{VerificationID: v.ID, UserID: v.UserID, Kind: c.Notify, Status: model.NotifyPending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := s.conn(ctx).Create(&n).Error; err != nil {
			return fmt.Errorf("store: queue notification: %w", err)
		}
	}
	if c.Hook != "" {
		return s.outbox(ctx, v, c.Hook, c.HookData, now)
	}
	return nil
}

// newEvent builds an event chained to prev.
func (s *Store) newEvent(vid int64, typ, actor string, data map[string]any, from, to State, prev string, now time.Time) (model.VerificationEvent, error) {
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return model.VerificationEvent{}, fmt.Errorf("store: event data: %w", err)
	}
	e := model.VerificationEvent{VerificationID: &vid, Type: typ, FromState: from, ToState: to,
		Actor: actor, Data: string(raw), PrevHash: prev, CreatedAt: now}
	e.Hash = EventHash(e)
	return e, nil
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

// outbox writes the webhook event in the step's transaction, so a decision
// is never lost nor announced without being stored.
func (s *Store) outbox(ctx context.Context, v *model.Verification, hook string, data any, now time.Time) error {
	u, err := s.whose(ctx, v.UserID)
	if err != nil {
		return err
	}
	if data == nil {
		data = WebhookPayload{VerificationID: v.ID, AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, State: string(v.State),
			Reason: v.Reason, Mode: v.Mode, NameMasked: v.NameMasked, IDNumberMasked: v.IDNumberMasked,
			Version: v.Version, Final: Terminal(v.State), At: now}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("store: outbox: %w", err)
	}
	vid := v.ID
	ev := model.WebhookEvent{ID: NewEventID(), Type: hook, VerificationID: &vid, Payload: string(raw), CreatedAt: now, AppID: u.AppID,
		TraceParent: spans.TraceParent(ctx)}
	if err := s.conn(ctx).Create(&ev).Error; err != nil {
		return fmt.Errorf("store: outbox: %w", err)
	}
	state(ctx).outbox = true
	return nil
}

// NewEventID is a webhook event id: receivers deduplicate on it.
func NewEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}
