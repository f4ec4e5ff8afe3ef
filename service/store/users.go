package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// The users table is the store's: a login records the user and their
// sealed session key (SaveLogin), an erasure wipes them (Erase) and key
// rotation reseals the key (ResealSessionKeys), all here, so an erasure's
// row lock and a rotation's compare-and-set see every writer.

// SaveLogin records a login of (u.AppID, u.OpenID): the user is created,
// or their session key (and unionid, when WeChat sent one) replaced, in
// one statement, so two concurrent first logins of the same user cannot
// create two rows. It returns the user's id.
func (s *Store) SaveLogin(ctx context.Context, u model.User) (int64, error) {
	row := model.User{AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, SessionKeyEnc: u.SessionKeyEnc}
	update := []string{"session_key_enc", "updated_at"}
	if u.UnionID != "" {
		update = append(update, "union_id")
	}
	set := clause.AssignmentColumns(update)
	db := s.conn(ctx)
	if db.Name() == model.DialectMySQL {
		// MySQL reports no id for an updated row unless the update names
		// it: then LAST_INSERT_ID is the existing row's id.
		set = append(set, clause.Assignment{Column: clause.Column{Name: "id"}, Value: gorm.Expr("LAST_INSERT_ID(id)")})
	}
	// PostgreSQL and SQLite hand the row's id back (RETURNING) whether it
	// was inserted or updated, so the one statement is all a login costs.
	err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app_id"}, {Name: "open_id"}},
		DoUpdates: set,
	}).Create(&row).Error
	if err != nil {
		return 0, fmt.Errorf("store: save login: %w", err)
	}
	if row.ID == 0 {
		return 0, errors.New("store: save login: the database returned no id")
	}
	return row.ID, nil
}

// Resealing is one sealed value key rotation re-encrypted: the row's id,
// the value it read (Old) and the value to write (New).
type Resealing struct {
	ID       int64
	Old, New []byte
}

// ResealSessionKeys writes users' session keys re-encrypted, each only
// while the row still holds the value rotation read (a compare-and-set):
// a login (a new key) or an erasure (none) committed since then wins. The
// writes share one transaction; it returns the ids whose value had
// changed, for the caller to read again. updated_at does not move: the
// user is the same.
func (s *Store) ResealSessionKeys(ctx context.Context, rs []Resealing) (stale []int64, err error) {
	return s.compareAndSet(ctx, &model.User{}, "session_key_enc", rs)
}

// compareAndSet writes column of each row in rs from Old to New where it
// still holds Old, in one transaction, and returns the ids it did not
// change.
//
// ownercheck:tables users, provider_attempts, event_texts
func (s *Store) compareAndSet(ctx context.Context, table any, column string, rs []Resealing) (stale []int64, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		stale = stale[:0]
		for _, r := range rs {
			res := s.conn(ctx).Model(table).Where("id = ? AND "+column+" = ?", r.ID, r.Old).UpdateColumn(column, r.New)
			if res.Error != nil {
				return fmt.Errorf("store: reseal %s: %w", column, res.Error)
			}
			if res.RowsAffected == 0 {
				stale = append(stale, r.ID)
			}
		}
		return nil
	})
	return stale, err
}
