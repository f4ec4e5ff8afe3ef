// Package storetest holds fixtures for the tests of packages that work
// with the verification store: a chain event seeded as the store writes
// it, and a store whose audit actions fail on demand. Only tests import it.
package storetest

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/store"
)

// SeedEvent appends e to its verification's chain as the store does: after
// the row's chain head, which it then moves to e.
func SeedEvent(t *testing.T, db *gorm.DB, e model.VerificationEvent) {
	t.Helper()
	var v model.Verification
	if err := db.Select("id", "chain_head").Take(&v, *e.VerificationID).Error; err != nil {
		t.Fatal(err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = db.NowFunc()
	}
	e.CreatedAt = clock.Stored(e.CreatedAt)
	if e.Data == "" {
		e.Data = "{}"
	}
	e.PrevHash = v.ChainHead
	e.Hash = store.EventHash(e)
	if err := db.Create(&e).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&model.Verification{}).Where("id = ?", v.ID).UpdateColumn("chain_head", e.Hash).Error; err != nil {
		t.Fatal(err)
	}
}

// ErrLockConflict reads as a lock conflict, which the store's transaction
// retries.
var ErrLockConflict = errors.New("database is locked (SQLITE_BUSY), as a lock conflict reads")

// FlakyTrail is the store with AppendAction answering a lock conflict the
// first Conflicts times, and then failing with Fail when it is set.
type FlakyTrail struct {
	*store.Store
	Conflicts int
	Fail      error
}

// AppendAction writes the action, then answers as set up.
func (f *FlakyTrail) AppendAction(ctx context.Context, actor, typ string, data map[string]any) error {
	if err := f.Store.AppendAction(ctx, actor, typ, data); err != nil {
		return err
	}
	if f.Conflicts > 0 {
		f.Conflicts--
		return ErrLockConflict
	}
	return f.Fail
}
