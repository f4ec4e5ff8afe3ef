package admin

import (
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// The admin_users table is this package's alone, and these are its
// writes: typed, each naming its columns. Each runs on the connection it
// is given: the service's own, or the audit trail's transaction
// (store.Joined) when the change commits with its audit action.

// accounts is the admin_users table on one connection.
type accounts struct{ db *gorm.DB }

// row is account id's row, for an update.
func (a accounts) row(id int64) *gorm.DB {
	return a.db.Model(&model.AdminUser{}).Where("id = ?", id)
}

// insert adds u (its ID is set).
func (a accounts) insert(u *model.AdminUser) error {
	u.ID = 0 // a retried transaction inserts again
	return a.db.Create(u).Error
}

// setDisabled stamps account id disabled at at, or enabled again (nil).
func (a accounts) setDisabled(id int64, at *time.Time) (int64, error) {
	res := a.row(id).Select("disabled_at").Updates(&model.AdminUser{DisabledAt: at})
	return res.RowsAffected, res.Error
}

// unlock lifts account id's lock-out and clears its failure count.
func (a accounts) unlock(id int64) (int64, error) {
	res := a.row(id).Select("locked_until", "failed_logins").Updates(&model.AdminUser{})
	return res.RowsAffected, res.Error
}

// setLanguage stores account id's console language.
func (a accounts) setLanguage(id int64, lang string) error {
	return a.row(id).Select("language").Updates(&model.AdminUser{Language: lang}).Error
}

// countFailure adds one to account id's consecutive failed logins.
func (a accounts) countFailure(id int64) error {
	return a.row(id).Update("failed_logins", gorm.Expr("failed_logins + 1")).Error
}

// lockAt locks account id until until when its failures reached max, and
// clears the count; it reports whether it did.
func (a accounts) lockAt(id int64, max int, until time.Time) (bool, error) {
	res := a.db.Model(&model.AdminUser{}).Where("id = ? AND failed_logins >= ?", id, max).
		Select("locked_until", "failed_logins").Updates(&model.AdminUser{LockedUntil: &until})
	return res.RowsAffected == 1, res.Error
}
