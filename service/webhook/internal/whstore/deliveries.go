package whstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// NewDelivery is a delivery to create, by Queue (pending) or Park (paused).
type NewDelivery struct {
	EventID    string
	EndpointID int64
	Move       Move
}

// Create inserts the deliveries, due at now; a pair (event, endpoint)
// that already has one is left alone, since the fan-out, a crash's repeat
// of it and a backfill may race to create the same. It returns how many
// it inserted (MariaDB counts a skipped pair too: its "do nothing" is an
// update of the id to itself).
func (tx *Tx) Create(ds []NewDelivery, now time.Time) (int64, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	rows := make([]model.WebhookDelivery, len(ds))
	for i, d := range ds {
		to, err := check(d.Move, None)
		if err != nil {
			return 0, err
		}
		rows[i] = model.WebhookDelivery{EventID: d.EventID, EndpointID: d.EndpointID, Status: string(to),
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	}
	res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500)
	return res.RowsAffected, res.Error
}

// Outcome is how one leased delivery's attempt ended: Deliver, Retry (at
// RetryAt) or GiveUp, with what the receiver answered.
type Outcome struct {
	DeliveryID int64
	Move       Move
	RetryAt    time.Time
	StatusCode int // 0: no answer
	Latency    time.Duration
	Response   string // the first KB of the answer
	Error      string
}

// Tally counts what Record wrote, by move; LeaseLost counts the outcomes
// that came after another worker had taken the delivery over.
type Tally struct {
	Delivered, Retried, GaveUp, LeaseLost int64
}

// resulted are the states a worker's result finds its delivery in: still
// leased, or requeued by the sweep after the lease ran out, which keeps the
// lease id so that a stalled worker's late result still counts (and the
// delivery is not sent again) as long as nobody has claimed it since. A
// claim sets a fresh lease id, and every other move that leaves Delivering
// clears it, so under the lease fence these two states mean just that.
var resulted = from(Delivering, Pending)

// Record stores the attempts and the deliveries' moves in one
// transaction. Each move is fenced by the lease id: a worker whose lease
// ran out and was taken over by another does not overwrite that one's state.
func (st *Store) Record(ctx context.Context, leaseID string, now time.Time, outcomes []Outcome) (Tally, error) {
	// Successes share their new state but the status code, so they are
	// written with one UPDATE per code rather than one per row.
	delivered := map[int][]int64{}
	var codes []int
	for _, o := range outcomes {
		if o.Move == Deliver {
			if delivered[o.StatusCode] == nil {
				codes = append(codes, o.StatusCode)
			}
			delivered[o.StatusCode] = append(delivered[o.StatusCode], o.DeliveryID)
		}
	}
	slices.Sort(codes)
	var t Tally
	err := st.lease(ctx, func(tx *Tx) error {
		t = Tally{} // a deadlock victim runs again: start from scratch
		attempts := make([]model.WebhookAttempt, len(outcomes))
		for i, o := range outcomes {
			attempts[i] = model.WebhookAttempt{DeliveryID: o.DeliveryID, StatusCode: o.StatusCode, LatencyMS: o.Latency.Milliseconds(),
				Response: o.Response, Error: o.Error, CreatedAt: now}
		}
		if err := tx.db.CreateInBatches(&attempts, 200).Error; err != nil {
			return err
		}
		for _, code := range codes {
			ids := delivered[code]
			n, err := tx.move(Deliver, resulted, patch{at: now, endLease: true, attempt: &answer{status: code}},
				fence{ids: ids, leaseID: leaseID})
			if err != nil {
				return err
			}
			t.Delivered += n
			t.LeaseLost += int64(len(ids)) - n
		}
		for _, o := range outcomes {
			if o.Move == Deliver {
				continue
			}
			p := patch{at: now, endLease: true, attempt: &answer{status: o.StatusCode, err: o.Error}}
			if o.Move == Retry {
				p.nextAttemptAt = &o.RetryAt
			}
			n, err := tx.move(o.Move, resulted, p, fence{ids: []int64{o.DeliveryID}, leaseID: leaseID})
			switch {
			case err != nil:
				return err
			case n == 0:
				t.LeaseLost++
			case o.Move == Retry:
				t.Retried++
			default:
				t.GaveUp++
			}
		}
		return nil
	})
	if err != nil {
		return Tally{}, fmt.Errorf("webhook: record attempts: %w", err)
	}
	return t, nil
}

// Reclaim requeues up to limit deliveries whose lease ran out by now and
// returns how many.
func (st *Store) Reclaim(ctx context.Context, now time.Time, limit int) (int64, error) {
	var reclaimed int64
	err := st.Queue(ctx, func(tx *Tx) error {
		// A claimed row's next_attempt_at is its lease's end; lease_id
		// stays, so the stalled worker's late result still counts if nobody
		// has claimed the row again by then.
		//
		// Plain reads find the rows first, and the updates go by primary key:
		// a locking scan of the (status, next_attempt_at) index, which the
		// claims and results are changing, deadlocks with them on InnoDB.
		reclaimed = 0
		var expired []int64
		if err := tx.db.Model(&model.WebhookDelivery{}).Where("status = ? AND next_attempt_at <= ?", string(Delivering), now).
			Limit(limit).Pluck("id", &expired).Error; err != nil || len(expired) == 0 {
			return err
		}
		var err error
		reclaimed, err = tx.move(Reclaim, from(Delivering), patch{at: now}, fence{ids: expired, leaseEnded: &now})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: sweep: %w", err)
	}
	return reclaimed, nil
}

// PauseStranded pauses up to limit pending deliveries of disabled
// endpoints: a result recorded after its endpoint was disabled leaves its
// delivery pending.
//
// The disabled endpoints are read with a row lock, taken in the same order
// (endpoint, then its deliveries) as Enable's. A plain read could see an
// endpoint as disabled just before an enable commits and then pause the
// deliveries that enable had just resumed, stranding them while the
// endpoint is enabled.
func (st *Store) PauseStranded(ctx context.Context, now time.Time, limit int) error {
	err := st.Queue(ctx, func(tx *Tx) error {
		stranded, err := tx.stranded(false, Pending, limit)
		if err != nil || len(stranded) == 0 {
			return err
		}
		_, err = tx.move(Pause, from(Pending), patch{at: now}, fence{ids: stranded})
		return err
	})
	if err != nil {
		return fmt.Errorf("webhook: sweep: %w", err)
	}
	return nil
}

// ResumeStranded queues up to limit paused deliveries of enabled
// endpoints, and returns how many: a fan-out that read an endpoint as
// disabled just before an enable committed leaves its new deliveries paused
// after the enable resumed the others. Same lock order as Enable
// (endpoint, then its deliveries).
func (st *Store) ResumeStranded(ctx context.Context, now time.Time, limit int) (int64, error) {
	var resumed int64
	err := st.Queue(ctx, func(tx *Tx) error {
		resumed = 0
		stranded, err := tx.stranded(true, Paused, limit)
		if err != nil || len(stranded) == 0 {
			return err
		}
		resumed, err = tx.move(Resume, from(Paused), patch{at: now, nextAttemptAt: &now}, fence{ids: stranded})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: sweep: %w", err)
	}
	return resumed, nil
}

// stranded locks the endpoints enabled (or not) and returns up to limit
// of their deliveries in state s.
func (tx *Tx) stranded(enabled bool, s State, limit int) ([]int64, error) {
	var endpoints []int64
	if err := tx.st.forUpdate(tx.db.Model(&model.WebhookEndpoint{}).Where("enabled = ?", enabled)).
		Pluck("id", &endpoints).Error; err != nil || len(endpoints) == 0 {
		return nil, err
	}
	var ids []int64
	err := tx.db.Model(&model.WebhookDelivery{}).Where("status = ? AND endpoint_id IN ?", string(s), endpoints).
		Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// LockDelivery reads one delivery and locks it until the transaction ends.
func (tx *Tx) LockDelivery(id int64) (model.WebhookDelivery, error) {
	var d model.WebhookDelivery
	err := tx.st.forUpdate(tx.db).Where("id = ?", id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, fmt.Errorf("%w: delivery %d", ErrNotFound, id)
	}
	return d, err
}

// Replay queues d again on a fresh schedule, due now; the attempts of its
// earlier round stay in its history. d is as LockDelivery read it.
func (tx *Tx) Replay(d model.WebhookDelivery, now time.Time) error {
	_, err := tx.move(Replay, from(State(d.Status)), replayed(now), fence{ids: []int64{d.ID}})
	return err
}

// ReplayFailed queues again, on a fresh schedule, the endpoint's failed
// deliveries created since then, and returns how many.
func (st *Store) ReplayFailed(ctx context.Context, endpointID int64, since, now time.Time) (int64, error) {
	return st.direct(ctx).move(Replay, from(Failed), replayed(now), fence{endpointID: endpointID, createdSince: &since})
}

// replayed is the state a replayed delivery starts from: a fresh schedule, due now.
func replayed(now time.Time) patch {
	return patch{at: now, nextAttemptAt: &now, endLease: true, freshSchedule: true}
}

// Backfill creates, due now, the missing deliveries to the endpoint of the
// events created since then that it subscribes to (wants says which),
// a page at a time (keyset on created_at, id); it returns how many.
func (st *Store) Backfill(ctx context.Context, endpointID int64, since, now time.Time, wants func(eventType string) bool) (int64, error) {
	var total int64
	var afterAt time.Time
	var afterID string
	for {
		q := st.db.WithContext(ctx).Select("id", "type", "created_at").Where("created_at >= ?", since).
			Where("NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.endpoint_id = ?)", endpointID).
			Order("created_at, id").Limit(1000)
		if afterID != "" {
			q = q.Where("created_at > ? OR (created_at = ? AND id > ?)", afterAt, afterAt, afterID)
		}
		var events []model.WebhookEvent
		if err := q.Find(&events).Error; err != nil {
			return total, err
		}
		var ds []NewDelivery
		for _, ev := range events {
			if wants(ev.Type) {
				ds = append(ds, NewDelivery{EventID: ev.ID, EndpointID: endpointID, Move: Queue})
			}
		}
		n, err := st.direct(ctx).Create(ds, now)
		total += n
		if err != nil {
			return total, err
		}
		if len(events) < 1000 {
			return total, nil
		}
		last := events[len(events)-1]
		afterAt, afterID = last.CreatedAt, last.ID
	}
}
