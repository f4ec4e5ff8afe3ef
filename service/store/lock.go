package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// identity is who a verification belongs to, as its webhook payloads name
// them.
type identity struct {
	AppID, OpenID, UnionID string
}

// lockedRow is a verification read under its lock with its user's
// identity, so a step that writes an outbox row needs no second read.
type lockedRow struct {
	model.Verification `gorm:"embedded"`
	UserAppID          string
	UserOpenID         string
	UserUnionID        string
}

// lockedQuery selects verifications joined to their users, locking the
// verification: FOR UPDATE OF verifications on PostgreSQL; on MySQL, which
// has no OF in MariaDB, the user's row is locked too (a lock order that can
// meet Erase's the other way round: the retry in InTx settles it).
func (s *Store) lockedQuery(ctx context.Context) *gorm.DB {
	q := s.joinedQuery(ctx)
	switch q.Name() {
	case model.DialectPostgres:
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Table: clause.Table{Name: "verifications"}})
	case model.DialectMySQL:
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return q // SQLite: the IMMEDIATE transaction holds the write lock
}

// joinedQuery selects verifications joined to their users' identities.
func (s *Store) joinedQuery(ctx context.Context) *gorm.DB {
	return s.conn(ctx).Table("verifications").
		Select("verifications.*, users.app_id AS user_app_id, users.open_id AS user_open_id, users.union_id AS user_union_id").
		Joins("JOIN users ON users.id = verifications.user_id")
}

// take runs a locked query for one row and remembers it in the transaction.
func (s *Store) take(ctx context.Context, q *gorm.DB) (model.Verification, error) {
	var rows []lockedRow
	if err := q.Limit(1).Scan(&rows).Error; err != nil {
		return model.Verification{}, fmt.Errorf("store: lock verification: %w", err)
	}
	if len(rows) == 0 {
		return model.Verification{}, ErrNotFound
	}
	r := rows[0]
	t := state(ctx)
	t.rows[r.ID] = r.Verification
	t.users[r.UserID] = identity{AppID: r.UserAppID, OpenID: r.UserOpenID, UnionID: r.UserUnionID}
	return r.Verification, nil
}

// lock reads the verification under its row lock, inside ctx's
// transaction; a row this transaction already locked or created is not
// read again.
func (s *Store) lock(ctx context.Context, vid int64) (model.Verification, error) {
	if v, ok := state(ctx).rows[vid]; ok {
		return v, nil
	}
	return s.take(ctx, s.lockedQuery(ctx).Where("verifications.id = ?", vid))
}

// stepLatest is step on the user's latest verification, found under its
// row lock: a request that acts on "the user's current verification" needs
// no separate read to learn which one that is. ErrNotFound when the user
// has none.
func (s *Store) stepLatest(ctx context.Context, userID int64, decide func(ctx context.Context, v *model.Verification) (Change, error)) (model.Verification, error) {
	var out model.Verification
	err := s.InTx(ctx, func(ctx context.Context) error {
		v, err := s.take(ctx, s.lockedQuery(ctx).Where("verifications.user_id = ?", userID).Order("verifications.id DESC"))
		if err != nil {
			return err
		}
		out, err = s.step(ctx, v.ID, decide)
		return err
	})
	return out, err
}

// whose returns the identity of userID, from the transaction's locked
// reads or, failing that, the users table.
func (s *Store) whose(ctx context.Context, userID int64) (identity, error) {
	if id, ok := state(ctx).users[userID]; ok {
		return id, nil
	}
	var u model.User
	err := s.conn(ctx).Select("id", "app_id", "open_id", "union_id").Take(&u, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return identity{}, fmt.Errorf("store: user %d: %w", userID, ErrNotFound)
	}
	if err != nil {
		return identity{}, fmt.Errorf("store: outbox user: %w", err)
	}
	id := identity{AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID}
	state(ctx).users[userID] = id
	return id, nil
}
