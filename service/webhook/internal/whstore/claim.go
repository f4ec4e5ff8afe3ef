package whstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// Claimed is a delivery as leased, with its event when the claim read it.
type Claimed struct {
	model.WebhookDelivery
	// Event is nil when the claim did not read it (only PostgreSQL's does)
	// or its row is gone.
	Event *model.WebhookEvent
}

// Claim leases up to limit due deliveries of the given endpoints, oldest
// due first, to lease. Rows another worker is claiming at the same moment
// are skipped, not waited for.
func (st *Store) Claim(ctx context.Context, endpointIDs []int64, limit int, lease Lease, now time.Time) ([]Claimed, error) {
	var out []Claimed
	err := st.claimTx(ctx, func(tx *Tx) error {
		// One status value and ORDER BY the index's second column, so
		// InnoDB walks (status, next_attempt_at) in order and locks only
		// the rows it returns instead of sorting, and locking, all due rows.
		due := tx.db.Model(&model.WebhookDelivery{}).Where("status = ? AND next_attempt_at <= ? AND endpoint_id IN ?",
			string(Pending), now, endpointIDs).Order("next_attempt_at").Limit(limit)
		// next_attempt_at becomes the lease's end: if this worker dies, the
		// sweep finds the row due again then, with no second index.
		leased := patch{at: now, lease: &lease, nextAttemptAt: &lease.Until}
		var err error
		if st.db.Name() == model.DialectPostgres {
			out, err = tx.claimReturning(due, leased)
			return err
		}
		var ds []model.WebhookDelivery
		if err := st.skipLocked(due).Find(&ds).Error; err != nil || len(ds) == 0 {
			return err
		}
		out = make([]Claimed, len(ds))
		ids := make([]int64, len(ds))
		for i, d := range ds {
			// As leased, like PostgreSQL's RETURNING.
			d.Status, d.LeaseID, d.LeaseUntil, d.NextAttemptAt, d.UpdatedAt = string(Delivering), lease.ID, &lease.Until, lease.Until, now
			out[i], ids[i] = Claimed{WebhookDelivery: d}, d.ID
		}
		_, err = tx.move(Claim, from(Pending), leased, fence{ids: ids})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: claim: %w", err)
	}
	return out, nil
}

// claimedRow is a row of claimReturning: the delivery as leased, and its
// event's columns (NULL when the event row is gone).
type claimedRow struct {
	model.WebhookDelivery
	EventRow       *string
	EventType      *string
	EventPayload   *string
	EventCreatedAt *time.Time
	EventTrace     *string
}

// claimReturning is the claim in one statement, on PostgreSQL: the due
// rows are locked (SKIP LOCKED) by the subquery, leased by the UPDATE,
// which returns them, and joined to their events, sparing the separate
// UPDATE and the read of the events that the other databases need (no
// UPDATE … RETURNING on MariaDB, no row locks on SQLite). The subquery is
// in ARRAY(), which PostgreSQL runs once, before the UPDATE.
func (tx *Tx) claimReturning(due *gorm.DB, leased patch) ([]Claimed, error) {
	to, err := check(Claim, Pending)
	if err != nil {
		return nil, err
	}
	where := clause.Where{Exprs: []clause.Expression{
		clause.Expr{SQL: "? = ANY(ARRAY(?))", Vars: []any{clause.Column{Name: colID}, tx.st.skipLocked(due.Select(colID))}},
		clause.Expr{SQL: "(? = ?) IS TRUE", Vars: []any{clause.Column{Name: colStatus}, string(Pending)}},
	}}
	var rows []claimedRow
	err = tx.db.Raw("WITH claimed AS (UPDATE "+deliveriesTable+" ? ? RETURNING *) "+
		"SELECT claimed.*, e.id AS event_row, e.type AS event_type, e.payload AS event_payload, e.created_at AS event_created_at, "+
		"e.trace_parent AS event_trace "+
		"FROM claimed LEFT JOIN webhook_events e ON e.id = claimed.event_id", leased.set(to), where).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Claimed, len(rows))
	for i, r := range rows {
		out[i] = Claimed{WebhookDelivery: r.WebhookDelivery}
		if r.EventRow != nil && r.EventType != nil && r.EventPayload != nil && r.EventCreatedAt != nil && r.EventTrace != nil {
			out[i].Event = &model.WebhookEvent{ID: *r.EventRow, Type: *r.EventType, Payload: *r.EventPayload, CreatedAt: *r.EventCreatedAt,
				TraceParent: *r.EventTrace}
		}
	}
	return out, nil
}
