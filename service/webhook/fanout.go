package webhook

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

// fanoutLoop turns outbox events into deliveries and puts deliveries of
// crashed workers back in the queue. Every instance runs one; SKIP LOCKED
// hands each event to exactly one of them.
func (s *Service) fanoutLoop(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := s.fanout(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook fan-out", "err", err)
		}
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook lease sweep", "err", err)
		}
		// A full batch means more is waiting: go on at once.
		if n == s.opts.FanoutBatch && err == nil {
			continue
		}
		if !wait(ctx, s.opts.PollInterval, s.fanoutWake) {
			return
		}
	}
}

// fanout creates, in one transaction with marking the events fanned out,
// a delivery per event and endpoint subscribed to its type: pending for an
// enabled endpoint, paused for a disabled one (it goes out when the
// endpoint is enabled again), so no event is marked fanned out without a
// delivery for every endpoint there is. A crash before the commit leaves
// the events unmarked for the next pass; the unique (event, endpoint) pair
// makes a repeated insert harmless.
func (s *Service) fanout(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	n, pending := 0, false
	start, moved, queued := time.Now(), []model.WebhookEvent(nil), 0 // for the span
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		n, pending = 0, false
		var events []model.WebhookEvent
		// ORDER BY exactly the index (fanned_out_at, created_at): a tie-break
		// column outside it would sort every waiting event on each pass, and
		// make InnoDB lock them all. PostgreSQL needs the leading column
		// spelled out: IS NULL is no equality to it, so "ORDER BY created_at"
		// alone read and sorted the whole backlog on every pass (27 ms of
		// 20,000 waiting events per batch, measured; 0.5 ms by the index).
		q := tx.Select("id", "type", "trace_parent").Where("fanned_out_at IS NULL").Order("fanned_out_at, created_at").Limit(s.opts.FanoutBatch)
		if err := s.skipLocked(q).Find(&events).Error; err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		var endpoints []model.WebhookEndpoint
		if err := tx.Select("id", "event_types", "enabled").Find(&endpoints).Error; err != nil {
			return err
		}
		now := s.now()
		var deliveries []model.WebhookDelivery
		for _, ev := range events {
			for _, ep := range endpoints {
				if subscribed(ep.EventTypes, ev.Type) {
					status := StatusPending
					if !ep.Enabled {
						status = StatusPaused
					}
					pending = pending || ep.Enabled
					deliveries = append(deliveries, model.WebhookDelivery{EventID: ev.ID, EndpointID: ep.ID,
						Status: status, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
				}
			}
		}
		if len(deliveries) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&deliveries, 500).Error; err != nil {
				return err
			}
		}
		if err := s.number(tx, events, now); err != nil {
			return err
		}
		if pending && s.queued != nil {
			if err := s.queued.Stage(tx); err != nil {
				return err
			}
		}
		if s.numbered != nil {
			if err := s.numbered.Stage(tx); err != nil {
				return err
			}
		}
		n, moved, queued = len(events), events, len(deliveries)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: fan-out: %w", err)
	}
	s.traceFanout(ctx, start, moved, queued)
	s.metrics.fannedOut.Add(float64(n))
	if pending {
		s.announceQueued()
	}
	if n > 0 {
		// The events are in the feed now: long-polls here and elsewhere.
		s.bell.ring()
		if s.numbered != nil {
			s.numbered.Committed()
		}
	}
	return n, nil
}

// announceQueued wakes the workers of this instance and, through the
// deliveries signal, of the others: deliveries were just committed.
func (s *Service) announceQueued() {
	s.kick()
	if s.queued != nil {
		s.queued.Committed()
	}
}

// sweep puts deliveries whose lease ran out back in the queue (their
// worker crashed or stalled), and pauses queued deliveries of endpoints
// disabled meanwhile, so claims never scan rows they cannot take.
func (s *Service) sweep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	if err := s.reclaim(ctx); err != nil {
		return err
	}
	if err := s.pauseStranded(ctx); err != nil {
		return err
	}
	return s.resumeStranded(ctx)
}

// reclaim requeues deliveries whose lease ran out.
func (s *Service) reclaim(ctx context.Context) error {
	now := s.now()
	var reclaimed int64
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		// A claimed row's next_attempt_at is its lease's end; lease_id
		// stays, so the stalled worker's late result still counts if nobody
		// has claimed the row again by then.
		//
		// Plain reads find the rows first, and the updates go by primary key:
		// a locking scan of the (status, next_attempt_at) index, which the
		// claims and results are changing, deadlocks with them on InnoDB.
		reclaimed = 0
		var expired []int64
		if err := tx.Model(&model.WebhookDelivery{}).Where("status = ? AND next_attempt_at <= ?", StatusDelivering, now).
			Limit(1000).Pluck("id", &expired).Error; err != nil || len(expired) == 0 {
			return err
		}
		res := tx.Model(&model.WebhookDelivery{}).Where("id IN ? AND status = ? AND next_attempt_at <= ?", expired, StatusDelivering, now).
			Updates(map[string]any{"status": StatusPending, "updated_at": now})
		reclaimed = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("webhook: sweep: %w", err)
	}
	if reclaimed > 0 {
		s.metrics.reclaimed.Add(float64(reclaimed))
		s.log.Warn("webhook deliveries reclaimed from workers whose lease ran out", "count", reclaimed)
	}
	return nil
}

// pauseStranded pauses pending deliveries of disabled endpoints: a result
// recorded after its endpoint was disabled leaves its delivery pending.
//
// The disabled endpoints are read with a row lock, taken in the same order
// (endpoint, then its deliveries) as EnableEndpoint's. A plain read could
// see an endpoint as disabled just before an enable commits and then pause
// the deliveries that enable had just resumed, stranding them while the
// endpoint is enabled.
func (s *Service) pauseStranded(ctx context.Context) error {
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		var disabled []int64
		if err := s.forUpdate(tx.Model(&model.WebhookEndpoint{}).Where("enabled = ?", false)).
			Pluck("id", &disabled).Error; err != nil || len(disabled) == 0 {
			return err
		}
		var stranded []int64
		if err := tx.Model(&model.WebhookDelivery{}).Where("status = ? AND endpoint_id IN ?", StatusPending, disabled).
			Limit(1000).Pluck("id", &stranded).Error; err != nil || len(stranded) == 0 {
			return err
		}
		return tx.Model(&model.WebhookDelivery{}).Where("id IN ? AND status = ?", stranded, StatusPending).
			Updates(map[string]any{"status": StatusPaused, "updated_at": s.now()}).Error
	})
	if err != nil {
		return fmt.Errorf("webhook: sweep: %w", err)
	}
	return nil
}

// resumeStranded queues paused deliveries of enabled endpoints: a fan-out
// that read an endpoint as disabled just before an enable committed leaves
// its new deliveries paused after the enable resumed the others. Same lock
// order as EnableEndpoint (endpoint, then its deliveries).
func (s *Service) resumeStranded(ctx context.Context) error {
	var resumed int64
	err := s.queueTx(ctx, func(tx *gorm.DB) error {
		resumed = 0
		var enabled []int64
		if err := s.forUpdate(tx.Model(&model.WebhookEndpoint{}).Where("enabled = ?", true)).
			Pluck("id", &enabled).Error; err != nil || len(enabled) == 0 {
			return err
		}
		var stranded []int64
		if err := tx.Model(&model.WebhookDelivery{}).Where("status = ? AND endpoint_id IN ?", StatusPaused, enabled).
			Limit(1000).Pluck("id", &stranded).Error; err != nil || len(stranded) == 0 {
			return err
		}
		now := s.now()
		res := tx.Model(&model.WebhookDelivery{}).Where("id IN ? AND status = ?", stranded, StatusPaused).
			Updates(map[string]any{"status": StatusPending, "next_attempt_at": now, "updated_at": now})
		resumed = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("webhook: sweep: %w", err)
	}
	if resumed > 0 {
		s.kick()
	}
	return nil
}

// number marks the events fanned out at now and gives them their places
// in the feed (GET /server/v1/events), in the order fetched (created_at),
// under the counter row's lock, which
// is held until this transaction commits: numbers are taken, and become
// visible, in one order across every instance, so a reader that has seen
// number n has seen (or will never see) every number below it.
func (s *Service) number(tx *gorm.DB, events []model.WebhookEvent, now time.Time) error {
	var seq model.EventSequence
	err := s.forUpdate(tx.Where("name = ?", feedName)).Take(&seq).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Migration 0011 writes the row; should it be gone, fan-out must
		// not stop over it: make it (a racing instance's insert wins).
		if err = tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&model.EventSequence{Name: feedName}).Error; err == nil {
			err = s.forUpdate(tx.Where("name = ?", feedName)).Take(&seq).Error
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
	if err := tx.Exec(sql.String(), args...).Error; err != nil {
		return err
	}
	return tx.Model(&model.EventSequence{}).Where("name = ?", feedName).Update("last_seq", seq.LastSeq).Error
}
