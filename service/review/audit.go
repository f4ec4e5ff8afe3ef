package review

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/store"
)

// Audit event types written by staff actions. Decisions themselves are
// verify's "reviewed" events.
const (
	EventClaimed  = store.EventClaimed
	EventReleased = store.EventReleased
	EventRevealed = "revealed"
	// EventRevealRateExceeded alerts that a staff member reached the
	// reveal limit (once per window, in their own chain).
	EventRevealRateExceeded = "reveal_rate_exceeded"
	// EventNumberSearched records a search by a full ID number: its keyed
	// hash, never the number.
	EventNumberSearched    = "id_number_searched"
	EventApprovalRequested = "approval_requested" // first of two approvals (four eyes)
	EventNote              = "review_note"
	EventAdminLogin        = "admin_login"
	EventAdminLoginFailed  = "admin_login_failed"
	EventAdminLocked       = "admin_locked"
	EventAdminLogout       = "admin_logout"
	EventAccountCreated    = "admin_account_created"
	EventAccountChanged    = "admin_account_changed"
)

// AuditEntry is one staff action as the audit log shows it.
type AuditEntry struct {
	model.VerificationEvent
	ActorName string // the admin's username, when the account still exists
	// Texts are the words behind the event's "<key>_digest" data (a note,
	// a revoke reason), by key; a key whose words erasure deleted maps to
	// TextErased.
	Texts map[string]string
}

// TextErased stands for free text deleted with its holder's personal data.
const TextErased = "\x00erased"

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
	Zone           *time.Location // WriteAuditCSV's times; UTC when nil
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries []AuditEntry
	Next    int64 // cursor for the next page; 0 at the end
}

// staffActions selects events done by staff: every event whose actor is an
// admin, which includes logins and the review transitions.
func (s *Service) staffActions(ctx context.Context, f AuditFilter) *gorm.DB {
	q := s.reads.WithContext(ctx).Model(&model.VerificationEvent{})
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
	texts, err := s.texts(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = AuditEntry{VerificationEvent: r}
		if id, ok := actorID(r.Actor); ok {
			out[i].ActorName = names[id]
		}
		if r.VerificationID != nil {
			out[i].Texts = textsOf(r.Data, texts[*r.VerificationID])
		}
	}
	return out, nil
}

// texts opens the sealed texts of the verifications rows belong to.
func (s *Service) texts(ctx context.Context, rows []model.VerificationEvent) (map[int64]map[string]string, error) {
	var vids []int64
	seen := map[int64]bool{}
	for _, r := range rows {
		if r.VerificationID != nil && !seen[*r.VerificationID] && strings.Contains(r.Data, "_digest") {
			seen[*r.VerificationID] = true
			vids = append(vids, *r.VerificationID)
		}
	}
	sealed, err := s.store.SealedTexts(ctx, vids...)
	if err != nil {
		return nil, err
	}
	return store.OpenTexts(s.crypto, sealed)
}

// textsOf finds the "<key>_digest" entries of an event's data in opened.
func textsOf(data string, opened map[string]string) map[string]string {
	if !strings.Contains(data, "_digest") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(data), &m) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		key, ok := strings.CutSuffix(k, "_digest")
		digest, isString := v.(string)
		if !ok || !isString {
			continue
		}
		if words, found := opened[digest]; found {
			out[key] = words
		} else {
			out[key] = TextErased
		}
	}
	return out
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
	return s.store.AppendAction(ctx, Actor(adminID), typ, data)
}
