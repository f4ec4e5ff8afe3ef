package review

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/idcard"
	"realname/service/pii"
	"realname/service/store"
)

// StateAny in a queue filter lists every state.
const StateAny = "any"

// QueueFilter selects cases. The zero value is the review queue: cases in
// review, oldest first.
type QueueFilter struct {
	State    string    // "" means review; StateAny means every state
	Reason   string    // reason code
	Provider string    // OCR provider that read the card
	From, To time.Time // last change in [From, To); zero is open
	OpenID   string    // the user's openid
	IDNumber string    // a full ID number, matched through its keyed hash
	After    *Cursor   // keyset cursor: cases after this one
	Limit    int
}

// Cursor is a position in the queue's (updated_at, id) order.
type Cursor struct {
	UpdatedAt time.Time
	ID        int64
}

// String encodes the cursor for a URL: "<unix ms>.<id>".
func (c Cursor) String() string { return fmt.Sprintf("%d.%d", c.UpdatedAt.UnixMilli(), c.ID) }

// ParseCursor decodes Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	ms, id, ok := strings.Cut(s, ".")
	m, err1 := strconv.ParseInt(ms, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return Cursor{}, errors.New("review: malformed cursor")
	}
	return Cursor{UpdatedAt: time.UnixMilli(m).UTC(), ID: i}, nil
}

// QueueItem is one row of the queue: masked values only.
type QueueItem struct {
	ID             int64
	State          string
	Reason         string
	Mode           string
	Provider       string
	NameMasked     string
	IDNumberMasked string
	AppID, OpenID  string
	ClaimedBy      string // username of the reviewer holding the case, if the claim is live
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// QueuePage is one page of the queue.
type QueuePage struct {
	Items []QueueItem
	Next  *Cursor // nil on the last page
}

// queueColumns leaves the sealed columns out: the queue never decrypts.
var queueColumns = []string{"id", "user_id", "state", "reason", "mode", "provider", "name_masked",
	"id_number_masked", "claimed_by", "claimed_until", "created_at", "updated_at"}

// Queue lists cases by (updated_at, id) with a keyset cursor. With a state
// filter the scan walks ix_verifications_queue (state, updated_at), so a
// page costs the same at any depth of a table of millions.
func (s *Service) Queue(ctx context.Context, f QueueFilter) (QueuePage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var rows []model.Verification
	if err := s.queueQuery(s.reads.WithContext(ctx), f).Find(&rows).Error; err != nil {
		return QueuePage{}, fmt.Errorf("review: queue: %w", err)
	}
	var page QueuePage
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.Next = &Cursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	items, err := s.queueItems(ctx, rows)
	page.Items = items
	return page, err
}

// queueQuery builds the page query: one row more than the limit tells
// whether a next page exists.
func (s *Service) queueQuery(db *gorm.DB, f QueueFilter) *gorm.DB {
	q := db.Model(&model.Verification{}).Select(queueColumns)
	switch f.State {
	case "":
		q = q.Where("state = ?", string(store.Review))
	case StateAny:
	default:
		q = q.Where("state = ?", f.State)
	}
	if f.Reason != "" {
		q = q.Where("reason = ?", f.Reason)
	}
	if f.Provider != "" {
		q = q.Where("provider = ?", f.Provider)
	}
	if !f.From.IsZero() {
		q = q.Where("updated_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("updated_at < ?", f.To.UTC())
	}
	if f.OpenID != "" {
		q = q.Where("user_id IN (?)", db.Session(&gorm.Session{NewDB: true}).Model(&model.User{}).Select("id").
			Where("open_id = ?", strings.TrimSpace(f.OpenID)))
	}
	if f.IDNumber != "" {
		q = q.Where("id_number_hash = ?", s.crypto.Hash(pii.PurposeIDNumber, []byte(normalizeIDNumber(f.IDNumber, s.now()))))
	}
	if f.After != nil {
		// (updated_at, id) > cursor, written so the first term bounds the
		// index range: the scan starts at the cursor instead of filtering
		// every row before it (PostgreSQL's index has no id to seek on).
		at := f.After.UpdatedAt.UTC()
		q = q.Where("updated_at >= ?", at).Where("updated_at > ? OR id > ?", at, f.After.ID)
	}
	return q.Order("updated_at, id").Limit(f.Limit + 1)
}

func (s *Service) queueItems(ctx context.Context, rows []model.Verification) ([]QueueItem, error) {
	var userIDs, adminIDs []int64
	for _, v := range rows {
		userIDs = append(userIDs, v.UserID)
		if v.ClaimedBy != nil {
			adminIDs = append(adminIDs, *v.ClaimedBy)
		}
	}
	users := map[int64]model.User{}
	if len(userIDs) > 0 {
		var us []model.User
		if err := s.reads.WithContext(ctx).Select("id", "app_id", "open_id").Where("id IN ?", userIDs).Find(&us).Error; err != nil {
			return nil, fmt.Errorf("review: queue users: %w", err)
		}
		for _, u := range us {
			users[u.ID] = u
		}
	}
	names, err := s.usernames(ctx, adminIDs)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]QueueItem, len(rows))
	for i, v := range rows {
		u := users[v.UserID]
		out[i] = QueueItem{ID: v.ID, State: string(v.State), Reason: v.Reason, Mode: v.Mode, Provider: v.Provider,
			NameMasked: v.NameMasked, IDNumberMasked: v.IDNumberMasked, AppID: u.AppID, OpenID: u.OpenID,
			CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
		if v.ClaimedBy != nil && v.ClaimedUntil != nil && v.ClaimedUntil.After(now) {
			out[i].ClaimedBy = names[*v.ClaimedBy]
		}
	}
	return out, nil
}

// normalizeIDNumber brings a typed number to the form verify hashed: a
// valid number parsed (upper-case X, a 15-digit one expanded), anything
// else trimmed and upper-cased.
func normalizeIDNumber(s string, today time.Time) string {
	if n, err := idcard.Parse(s, today); err == nil {
		return n.Value
	}
	return strings.ToUpper(strings.TrimSpace(s))
}
