package review

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
	"realname/service/verify"
)

// Audit event types written by staff actions. Decisions themselves are
// verify's "reviewed" events.
const (
	EventClaimed           = "claimed"
	EventReleased          = "released"
	EventRevealed          = "revealed"
	EventApprovalRequested = "approval_requested" // first of two approvals (four eyes)
	EventNote              = "review_note"
	EventAdminLogin        = "admin_login"
	EventAdminLoginFailed  = "admin_login_failed"
	EventAdminLocked       = "admin_locked"
	EventAdminLogout       = "admin_logout"
	EventAccountCreated    = "admin_account_created"
	EventAccountChanged    = "admin_account_changed"
)

// AppendEvent writes e at the end of its hash chain inside tx and returns it
// with its hashes. A verification's events form one chain; events about no
// verification (logins, account changes) form one chain per actor.
//
// The chain head is read under a row lock (the verification's, or the
// acting admin's), so two appends never fork the chain. The lock is a
// locking read, which on MySQL also sees rows committed after the
// transaction's snapshot.
func AppendEvent(ctx context.Context, tx *gorm.DB, e model.VerificationEvent) (model.VerificationEvent, error) {
	tx = tx.WithContext(ctx)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = tx.NowFunc() // the process's clock, given to model.Open
	}
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Millisecond)
	if e.Data == "" {
		e.Data = "{}"
	}
	head := tx.Model(&model.VerificationEvent{}).Order("id DESC").Limit(1)
	if e.VerificationID != nil {
		if err := lockRow(tx, &model.Verification{}, *e.VerificationID); err != nil {
			return e, err
		}
		head = head.Where("verification_id = ?", *e.VerificationID)
	} else {
		if id, ok := actorID(e.Actor); ok {
			if err := lockRow(tx, &model.AdminUser{}, id); err != nil {
				return e, err
			}
		}
		head = head.Where("verification_id IS NULL AND actor = ?", e.Actor)
	}
	if tx.Name() != model.DialectSQLite {
		head = head.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var prev model.VerificationEvent
	if err := head.Find(&prev).Error; err != nil {
		return e, fmt.Errorf("review: chain head: %w", err)
	}
	e.ID = 0
	e.PrevHash = prev.Hash
	e.Hash = verify.EventHash(e)
	if err := tx.Create(&e).Error; err != nil {
		return e, fmt.Errorf("review: append event: %w", err)
	}
	return e, nil
}

// lockRow takes the row lock that serialises appends to one chain. SQLite
// transactions here are IMMEDIATE: the database write lock is already held.
func lockRow(tx *gorm.DB, m any, id int64) error {
	if tx.Name() == model.DialectSQLite {
		return nil
	}
	var got []int64
	err := tx.Model(m).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Pluck("id", &got).Error
	if err != nil {
		return fmt.Errorf("review: lock chain: %w", err)
	}
	return nil
}

// staffEvent is a non-transition event on a case in its current state.
func staffEvent(v model.Verification, typ string, adminID int64, data map[string]any) model.VerificationEvent {
	raw, _ := json.Marshal(data)
	vid := v.ID
	return model.VerificationEvent{VerificationID: &vid, Type: typ, FromState: v.State, ToState: v.State,
		Actor: Actor(adminID), Data: string(raw)}
}

// AuditEntry is one staff action as the audit log shows it.
type AuditEntry struct {
	model.VerificationEvent
	ActorName string // the admin's username, when the account still exists
}

// Case is the verification id as text, empty for events about no case.
func (e AuditEntry) Case() string {
	if e.VerificationID == nil {
		return ""
	}
	return fmt.Sprint(*e.VerificationID)
}

// AuditFilter narrows the audit log. Before is the keyset cursor: entries
// with a smaller id than it (newest first).
type AuditFilter struct {
	AdminID        int64 // 0: every staff member
	Type           string
	VerificationID int64
	Before         int64
	Limit          int
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries []AuditEntry
	Next    int64 // cursor for the next page; 0 at the end
}

// staffActions selects events done by staff: every event whose actor is an
// admin, which includes logins and the review transitions.
func (s *Service) staffActions(ctx context.Context, f AuditFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&model.VerificationEvent{})
	if f.AdminID > 0 {
		q = q.Where("actor = ?", Actor(f.AdminID))
	} else {
		q = q.Where("actor LIKE ?", "admin:%")
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.VerificationID > 0 {
		q = q.Where("verification_id = ?", f.VerificationID)
	}
	return q
}

// AuditLog lists staff actions, newest first, by keyset on id.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) (AuditPage, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := s.staffActions(ctx, f)
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var rows []model.VerificationEvent
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return AuditPage{}, fmt.Errorf("review: audit log: %w", err)
	}
	var page AuditPage
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		page.Next = rows[len(rows)-1].ID
	}
	entries, err := s.named(ctx, rows)
	page.Entries = entries
	return page, err
}

func (s *Service) named(ctx context.Context, rows []model.VerificationEvent) ([]AuditEntry, error) {
	var ids []int64
	for _, r := range rows {
		if id, ok := actorID(r.Actor); ok {
			ids = append(ids, id)
		}
	}
	names, err := s.usernames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = AuditEntry{VerificationEvent: r}
		if id, ok := actorID(r.Actor); ok {
			out[i].ActorName = names[id]
		}
	}
	return out, nil
}

// csvSafe defuses spreadsheet formulas: a cell starting with = + - @ (or a
// tab/CR) is prefixed with a quote so Excel shows it as text.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// RecordStaffAction appends a staff action that concerns no case (a webhook
// endpoint added or disabled, say) to the acting admin's chain.
func (s *Service) RecordStaffAction(ctx context.Context, adminID int64, typ string, data map[string]any) error {
	raw, _ := json.Marshal(data)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := AppendEvent(ctx, tx, model.VerificationEvent{Type: typ, Actor: Actor(adminID), Data: string(raw)})
		return err
	})
}
