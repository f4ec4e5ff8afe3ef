package whstore

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The columns of webhook_deliveries the moves read and write, named once
// (a test checks each against the model's schema).
const (
	deliveriesTable  = "webhook_deliveries"
	colID            = "id"
	colEndpointID    = "endpoint_id"
	colStatus        = "status"
	colAttempts      = "attempts"
	colNextAttemptAt = "next_attempt_at"
	colLeaseID       = "lease_id"
	colLeaseUntil    = "lease_until"
	colLastStatus    = "last_status"
	colLastError     = "last_error"
	colCreatedAt     = "created_at"
	colUpdatedAt     = "updated_at"
)

// Lease is a worker's claim on a batch: its id fences the results, and it
// ends at Until.
type Lease struct {
	ID    string
	Until time.Time
}

// patch is what a move writes besides the status: typed, so no caller
// names a column, and set renders it.
type patch struct {
	at            time.Time  // updated_at
	nextAttemptAt *time.Time // when it is due (for a claim: the lease's end)
	lease         *Lease     // a claim: lease_id and lease_until
	endLease      bool       // lease_id '' and lease_until NULL: the worker is done with it
	attempt       *answer    // attempts + 1, and what the attempt came to
	freshSchedule bool       // attempts 0: a replay starts the schedule again
}

// answer is the end of one attempt, as the delivery row keeps it.
type answer struct {
	status int
	err    string
}

func (p patch) set(to State) clause.Set {
	set := clause.Set{assign(colStatus, string(to)), assign(colUpdatedAt, p.at)}
	if p.nextAttemptAt != nil {
		set = append(set, assign(colNextAttemptAt, *p.nextAttemptAt))
	}
	switch {
	case p.lease != nil:
		set = append(set, assign(colLeaseID, p.lease.ID), assign(colLeaseUntil, p.lease.Until))
	case p.endLease:
		set = append(set, assign(colLeaseID, ""), assign(colLeaseUntil, nil))
	}
	switch {
	case p.attempt != nil:
		set = append(set, assign(colAttempts, gorm.Expr(colAttempts+" + 1")),
			assign(colLastStatus, p.attempt.status), assign(colLastError, p.attempt.err))
	case p.freshSchedule:
		set = append(set, assign(colAttempts, 0))
	}
	return set
}

func assign(col string, v any) clause.Assignment {
	return clause.Assignment{Column: clause.Column{Name: col}, Value: v}
}

// fence picks the rows a move writes, besides their from-state. At least
// one of ids and endpointID is set: a move never writes a whole state.
type fence struct {
	ids          []int64    // id IN
	endpointID   int64      // endpoint_id =
	leaseID      string     // lease_id =: a result counts only while its worker holds the lease
	leaseEnded   *time.Time // next_attempt_at <=: a lease that ran out by then
	createdSince *time.Time // created_at >=
}

var errUnfenced = errors.New("webhook store: a move without ids or endpoint would write every delivery in its state")

func (f fence) where(from []State) (clause.Where, error) {
	states := make([]any, len(from))
	for i, s := range from {
		states[i] = string(s)
	}
	status := clause.Column{Name: colStatus}
	w := clause.Where{}
	add := func(e clause.Expression) { w.Exprs = append(w.Exprs, e) }
	switch {
	case len(f.ids) > 0:
		add(clause.IN{Column: clause.Column{Name: colID}, Values: int64s(f.ids)})
		// Rows picked by id are found by the primary key and their state
		// checked on them, never searched by: a plain "status = ?" invites
		// the planner to AND in the (status, next_attempt_at) index, whose
		// delivering and pending ranges are full of entries the drain has
		// just made dead. PostgreSQL did (a BitmapAnd), and the results'
		// UPDATE took 22 ms instead of 3. IS TRUE is no index condition on
		// any of the three databases.
		add(clause.Expr{SQL: "(? IN ?) IS TRUE", Vars: []any{status, states}})
	case f.endpointID == 0:
		return w, errUnfenced
	default:
		add(clause.IN{Column: status, Values: states})
	}
	if f.endpointID != 0 {
		add(clause.Eq{Column: clause.Column{Name: colEndpointID}, Value: f.endpointID})
	}
	if f.leaseID != "" {
		add(clause.Eq{Column: clause.Column{Name: colLeaseID}, Value: f.leaseID})
	}
	if f.leaseEnded != nil {
		add(clause.Lte{Column: clause.Column{Name: colNextAttemptAt}, Value: *f.leaseEnded})
	}
	if f.createdSince != nil {
		add(clause.Gte{Column: clause.Column{Name: colCreatedAt}, Value: *f.createdSince})
	}
	return w, nil
}

func int64s(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// from lists the states a move starts from, for move's call sites.
func from(s ...State) []State { return s }

// move writes m on the deliveries the fence picks that are still in one
// of the from-states, after checking m from each against the table, and
// returns how many it wrote: fewer than asked means the others had moved
// on (a lost lease, a concurrent change), which is not an error.
func (tx *Tx) move(m Move, from []State, p patch, f fence) (int64, error) {
	var to State
	for _, s := range from {
		if s == None {
			return 0, fmt.Errorf("%w: %s of a delivery not written yet (Create writes new ones)", ErrTransition, m)
		}
		var err error
		if to, err = check(m, s); err != nil {
			return 0, err
		}
	}
	if len(from) == 0 {
		return 0, fmt.Errorf("%w: %s from no state", ErrTransition, m)
	}
	where, err := f.where(from)
	if err != nil {
		return 0, err
	}
	res := tx.db.Exec("UPDATE "+deliveriesTable+" ? ?", p.set(to), where)
	return res.RowsAffected, res.Error
}
