package webhook

import (
	"context"
	"fmt"
	"time"

	"realname/model"
	"realname/service/webhook/internal/whstore"
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
	err := s.st.Queue(ctx, func(tx *whstore.Tx) error {
		n, pending, moved, queued = 0, false, nil, 0
		events, err := tx.Unfanned(s.opts.FanoutBatch)
		if err != nil || len(events) == 0 {
			return err
		}
		endpoints, err := tx.Subscriptions()
		if err != nil {
			return err
		}
		now := s.now()
		var deliveries []whstore.NewDelivery
		for _, ev := range events {
			for _, ep := range endpoints {
				if subscribed(ep.EventTypes, ev.Type) {
					move := whstore.Queue
					if !ep.Enabled {
						move = whstore.Park
					}
					pending = pending || ep.Enabled
					deliveries = append(deliveries, whstore.NewDelivery{EventID: ev.ID, EndpointID: ep.ID, Move: move})
				}
			}
		}
		if _, err := tx.Create(deliveries, now); err != nil {
			return err
		}
		if err := tx.Number(events, now); err != nil {
			return err
		}
		if pending && s.queued != nil {
			if err := tx.Stage(s.queued); err != nil {
				return err
			}
		}
		if s.numbered != nil {
			if err := tx.Stage(s.numbered); err != nil {
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

// sweepLimit bounds the rows one sweep step moves.
const sweepLimit = 1000

// sweep puts deliveries whose lease ran out back in the queue (their
// worker crashed or stalled), and pauses queued deliveries of endpoints
// disabled meanwhile, so claims never scan rows they cannot take.
func (s *Service) sweep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	reclaimed, err := s.st.Reclaim(ctx, s.now(), sweepLimit)
	if err != nil {
		return err
	}
	if reclaimed > 0 {
		s.metrics.reclaimed.Add(float64(reclaimed))
		s.log.Warn("webhook deliveries reclaimed from workers whose lease ran out", "count", reclaimed)
	}
	if err := s.st.PauseStranded(ctx, s.now(), sweepLimit); err != nil {
		return err
	}
	resumed, err := s.st.ResumeStranded(ctx, s.now(), sweepLimit)
	if resumed > 0 {
		s.kick()
	}
	return err
}
