package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/store"
	"realname/service/webhook"
)

// Current is the caller's status: their latest verification, or state
// "none" when they have not started.
func (s *Service) Current(ctx context.Context, u User) (View, error) {
	left := s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay)
	v, err := s.store.Latest(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		out := View{State: "none", AttemptsLeft: left, Missing: s.missing(card{})}
		s.nextAction(&out)
		return out, nil
	}
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, &v.Verification, left)
}

// Erase deletes the user's photos and personal fields on their request
// (PIPL's right to deletion). The rows stay as an audit skeleton in state
// erased: times, reasons, event chain; webhook payloads lose their masked
// values, receivers' stored answers are blanked, business systems are told
// by one user.data_erased event. A repeated erasure finds nothing new and
// emits nothing. The photos are deleted once the erasure has committed.
func (s *Service) Erase(ctx context.Context, u User) error {
	var er store.Erasure
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if er, err = s.store.Erase(ctx, u.ID, actorUser(u.ID)); err != nil {
			return err
		}
		if err := s.photos.Drop(ctx, er.Blobs...); err != nil {
			return err
		}
		return s.store.Alongside(ctx, func(ctx context.Context, tx *gorm.DB) error {
			return webhook.Erase(ctx, tx, er.VerificationIDs)
		})
	})
	if err != nil {
		return fmt.Errorf("verify: erase: %w", err)
	}
	return nil
}

// SweepStats counts what one sweep did.
type SweepStats struct {
	Expired, Rescued, PhotosDeleted int
	Rerun                           int // interrupted checks asked again (Rescued counts those it settled)
	Orphans                         int // photos no verification names, left by a crash or a failed delete
}

// orphanGrace is how long a journaled photo may wait for the step that
// names it: far longer than any upload's transaction.
const orphanGrace = time.Hour

// Sweep expires abandoned verifications, settles checks interrupted by a
// crash (asked again once, else to review as interrupted), and deletes photos past their retention. It works in
// batches and is safe to run on every instance at once: each change is a
// step that re-checks its condition under the row lock, or an idempotent
// delete.
func (s *Service) Sweep(ctx context.Context, batch int) (SweepStats, error) {
	var st SweepStats
	now := s.now()
	idleBefore := now.Add(-s.policy.IdleExpiry)
	idle, err := s.store.Idle(ctx, idleBefore, batch)
	if err != nil {
		return st, fmt.Errorf("verify: sweep: %w", err)
	}
	for _, v := range idle {
		ok, err := s.sweepStep(ctx, v.ID, func(cur *model.Verification) bool {
			return store.Idles(cur.State) && cur.UpdatedAt.Before(idleBefore)
		}, store.Change{To: store.Expired, Event: "expired", Actor: "system", Hook: HookExpired,
			Set: store.Patch{Reason: store.Ptr("idle")}, Data: map[string]any{"idle_for": s.policy.IdleExpiry.String()}})
		if err != nil {
			return st, err
		}
		if ok {
			st.Expired++
		}
	}
	stuckBefore := now.Add(-s.policy.StuckChecking)
	stuck, err := s.store.Stuck(ctx, stuckBefore, batch)
	if err != nil {
		return st, fmt.Errorf("verify: sweep: %w", err)
	}
	for _, v := range stuck {
		done, rerun, err := s.rescue(ctx, v.ID, stuckBefore)
		if err != nil {
			return st, err
		}
		if done {
			st.Rescued++
		}
		if rerun {
			st.Rerun++
		}
	}
	n, err := s.deleteOldPhotos(ctx, now, batch)
	st.PhotosDeleted = n
	if err != nil {
		return st, err
	}
	if st.Orphans, err = s.photos.SweepOrphans(ctx, now.Add(-orphanGrace), batch); err != nil {
		return st, fmt.Errorf("verify: sweep orphans: %w", err)
	}
	return st, nil
}

// sweepStep writes c to vid if due still holds under the row lock. Another
// instance's sweep, the user or an erasure may have got there first: that
// is not an error.
func (s *Service) sweepStep(ctx context.Context, vid int64, due func(*model.Verification) bool, c store.Change) (bool, error) {
	done := false
	_, err := s.store.Step(ctx, vid, func(_ context.Context, cur *model.Verification) (store.Change, error) {
		done = due(cur)
		if !done {
			return store.Change{Cancel: true}, nil
		}
		return c, nil
	})
	if errors.Is(err, store.ErrErased) {
		return false, nil
	}
	return done && err == nil, err
}

// deleteOldPhotos deletes the photos of verifications finished longer than
// PhotoRetention ago. A candidate with no photo left is marked too, so no
// row is read twice.
func (s *Service) deleteOldPhotos(ctx context.Context, now time.Time, batch int) (int, error) {
	old, err := s.store.PhotosDue(ctx, now.Add(-s.policy.PhotoRetention), batch)
	if err != nil {
		return 0, fmt.Errorf("verify: sweep photos: %w", err)
	}
	done := 0
	for _, v := range old {
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			if err := s.photos.Drop(ctx, v.FrontBlob, v.BackBlob); err != nil {
				return err
			}
			return s.store.PhotosDeleted(ctx, v)
		})
		if err != nil {
			return done, err
		}
		if v.FrontBlob != "" || v.BackBlob != "" {
			done++
		}
	}
	return done, nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, interval)
		sctx, span := s.startSweep(sctx)
		st, err := s.Sweep(sctx, 200)
		endSweep(span, st, err)
		cancel()
		if err != nil {
			s.log.Error("sweep failed", "err", err)
		} else if st != (SweepStats{}) {
			s.log.Info("swept", "expired", st.Expired, "rescued", st.Rescued, "rerun", st.Rerun, "photos_deleted", st.PhotosDeleted, "orphans", st.Orphans)
		}
	}
}
