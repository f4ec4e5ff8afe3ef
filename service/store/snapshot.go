package store

import (
	"context"
	"errors"
	"fmt"

	"realname/model"
)

// Snapshot is a verification as a request read it before its step, with
// its user's identity (for the step's webhook payload). StepFrom decides
// on it and writes fenced by what was read, instead of reading the row
// again under its lock. One built outside the store carries no identity
// and is read again under the lock.
type Snapshot struct {
	model.Verification
	who identity
}

// errStale says a Snapshot's row changed before its step wrote: the
// transaction runs again, on the row read under its lock.
var errStale = errors.New("store: the verification changed since it was read")

// Latest reads the user's newest verification with the user's identity,
// without a lock, or ErrNotFound.
func (s *Store) Latest(ctx context.Context, userID int64) (Snapshot, error) {
	var rows []lockedRow
	err := s.joinedQuery(ctx).Where("verifications.user_id = ?", userID).Order("verifications.id DESC").Limit(1).Scan(&rows).Error
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: latest verification: %w", err)
	}
	if len(rows) == 0 {
		return Snapshot{}, ErrNotFound
	}
	r := rows[0]
	return Snapshot{Verification: r.Verification, who: identity{AppID: r.UserAppID, OpenID: r.UserOpenID, UnionID: r.UserUnionID}}, nil
}

// StepFrom is Step on the row seen holds, read before the step: decide
// looks at that row and the write is fenced by its version and chain
// head, so the step costs no read. When the row changed meanwhile, the
// transaction runs again with the row read under its lock, as Step
// does. The result carries the identity for a next StepFrom.
func (s *Store) StepFrom(ctx context.Context, seen Snapshot, decide func(ctx context.Context, v *model.Verification) (Change, error)) (Snapshot, error) {
	ctx, tr := s.startStep(ctx)
	var out Snapshot
	err := s.InTx(ctx, func(ctx context.Context) error {
		t := state(ctx)
		if _, held := t.rows[seen.ID]; !held && !t.mustLock[seen.ID] && seen.who != (identity{}) {
			t.rows[seen.ID], t.seen[seen.ID] = seen.Verification, true
			t.users[seen.UserID] = seen.who
		}
		v, err := s.step(ctx, seen.ID, tr.watch(decide))
		out = Snapshot{Verification: v, who: t.users[v.UserID]}
		return err
	})
	tr.end(seen.ID, err)
	return out, err
}
