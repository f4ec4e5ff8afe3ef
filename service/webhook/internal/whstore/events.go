package whstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// FeedName is the counter row of the event feed.
const FeedName = "events"

// Unfanned locks up to limit events not fanned out yet, oldest first,
// skipping those another instance's fan-out holds. Only id, type and
// trace_parent (the fan-out's span links to the steps that wrote them) are read.
func (tx *Tx) Unfanned(limit int) ([]model.WebhookEvent, error) {
	var events []model.WebhookEvent
	// ORDER BY exactly the index (fanned_out_at, created_at): a tie-break
	// column outside it would sort every waiting event on each pass, and
	// make InnoDB lock them all. PostgreSQL needs the leading column
	// spelled out: IS NULL is no equality to it, so "ORDER BY created_at"
	// alone read and sorted the whole backlog on every pass (27 ms of
	// 20,000 waiting events per batch, measured; 0.5 ms by the index).
	q := tx.db.Select("id", "type", "trace_parent").Where("fanned_out_at IS NULL").Order("fanned_out_at, created_at").Limit(limit)
	err := tx.st.skipLocked(q).Find(&events).Error
	return events, err
}

// Subscriptions returns every endpoint's id, event types and whether it
// is enabled: what the fan-out needs to choose and queue deliveries.
func (tx *Tx) Subscriptions() ([]model.WebhookEndpoint, error) {
	var endpoints []model.WebhookEndpoint
	err := tx.db.Select("id", "event_types", "enabled").Find(&endpoints).Error
	return endpoints, err
}

// Number marks the events fanned out at now and gives them their places
// in the feed (GET /server/v1/events), in the order given, under the
// counter row's lock, which is held until this transaction commits:
// numbers are taken, and become visible, in one order across every
// instance, so a reader that has seen number n has seen (or will never
// see) every number below it.
func (tx *Tx) Number(events []model.WebhookEvent, now time.Time) error {
	var seq model.EventSequence
	err := tx.st.forUpdate(tx.db.Where("name = ?", FeedName)).Take(&seq).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Migration 0011 writes the row; should it be gone, fan-out must
		// not stop over it: make it (a racing instance's insert wins).
		if err = tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&model.EventSequence{Name: FeedName}).Error; err == nil {
			err = tx.st.forUpdate(tx.db.Where("name = ?", FeedName)).Take(&seq).Error
		}
	}
	if err != nil {
		return fmt.Errorf("feed counter: %w", err)
	}
	// One UPDATE for the batch, so the counter's lock is held for one
	// statement, not one per event: CASE id WHEN ? THEN <n> …, the numbers
	// written as literals (ours, never input) so every dialect types them.
	// The mark rides in the same statement: every column changed here is
	// indexed, so a second UPDATE wrote each event's row and its five index
	// entries twice.
	var sql strings.Builder
	sql.WriteString("UPDATE webhook_events SET fanned_out_at = ?, seq = CASE id")
	args := make([]any, 0, 2*len(events)+2)
	args = append(args, now)
	ids := make([]string, len(events))
	for i, ev := range events {
		seq.LastSeq++
		sql.WriteString(" WHEN ? THEN " + strconv.FormatInt(seq.LastSeq, 10))
		args = append(args, ev.ID)
		ids[i] = ev.ID
	}
	sql.WriteString(" END WHERE id IN ?")
	args = append(args, ids)
	if err := tx.db.Exec(sql.String(), args...).Error; err != nil {
		return err
	}
	return tx.db.Model(&model.EventSequence{}).Where("name = ?", FeedName).Update("last_seq", seq.LastSeq).Error
}

// CreateEvent inserts an event of the webhook service's own (a ping),
// about no verification.
func (tx *Tx) CreateEvent(ev *model.WebhookEvent) error { return tx.db.Create(ev).Error }

// Events returns the events with these ids.
func (st *Store) Events(ctx context.Context, ids []string) ([]model.WebhookEvent, error) {
	var events []model.WebhookEvent
	if err := st.db.WithContext(ctx).Where("id IN ?", ids).Find(&events).Error; err != nil {
		return nil, fmt.Errorf("webhook: load events: %w", err)
	}
	return events, nil
}

// FeedCounter reads the feed's counter row; without one (nothing numbered
// yet) it is the zero row.
func (st *Store) FeedCounter(ctx context.Context) (model.EventSequence, error) {
	var seq model.EventSequence
	// Find, not Take: without the row the feed is empty, not an error.
	err := st.db.WithContext(ctx).Where("name = ?", FeedName).Limit(1).Find(&seq).Error
	return seq, err
}

// FeedQuery selects feed events: numbered in (After, UpTo], of Type and
// about users of AppID when those are set, at most Limit, in feed order.
type FeedQuery struct {
	After, UpTo int64
	Type, AppID string
	Limit       int
}

// FeedEvents reads the events q selects.
func (st *Store) FeedEvents(ctx context.Context, q FeedQuery) ([]model.WebhookEvent, error) {
	sel := st.db.WithContext(ctx).Where("seq > ? AND seq <= ?", q.After, q.UpTo)
	if q.AppID != "" {
		sel = sel.Where("app_id = ?", q.AppID) // index (app_id, seq)
	}
	if q.Type != "" {
		sel = sel.Where("type = ?", q.Type)
	}
	var rows []model.WebhookEvent
	err := sel.Order("seq").Limit(q.Limit).Find(&rows).Error
	return rows, err
}
