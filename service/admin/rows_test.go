package admin

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/redisconn/redistest"
	"realname/service/review"
	"realname/service/store"
	"realname/service/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

// The contract of admin_users' writes, this package's own, on SQLite,
// PostgreSQL and MariaDB: each changes the columns it names (and
// updated_at), nothing else, and only the row it names.
func TestAccountRows(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		clk := clock.NewManual(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		db = db.Session(&gorm.Session{NowFunc: clk.Now})
		rows := accounts{db: db}
		ann := model.AdminUser{Username: "ann", PasswordHash: "h", Role: RoleReviewer}
		bob := model.AdminUser{Username: "bob", PasswordHash: "h", Role: RoleAdmin}
		for _, u := range []*model.AdminUser{&ann, &bob} {
			if err := rows.insert(u); err != nil || u.ID == 0 {
				t.Fatalf("insert %s: %d %v", u.Username, u.ID, err)
			}
		}
		read := func(id int64) model.AdminUser {
			t.Helper()
			var u model.AdminUser
			if err := db.Take(&u, id).Error; err != nil {
				t.Fatal(err)
			}
			return u
		}
		untouched := read(bob.ID)
		step := func(what string, write func() error, want func(u model.AdminUser) bool) {
			t.Helper()
			clk.Advance(time.Minute)
			if err := write(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			got := read(ann.ID)
			if !want(got) || !got.UpdatedAt.Equal(clk.Now()) || got.Username != "ann" || got.Role != RoleReviewer || got.PasswordHash != "h" {
				t.Fatalf("%s left %+v", what, got)
			}
			if other := read(bob.ID); other != untouched {
				t.Fatalf("%s changed another account: %+v", what, other)
			}
		}
		at := clk.Now().Add(time.Hour)
		step("disable", func() error {
			n, err := rows.setDisabled(ann.ID, &at)
			return errors.Join(err, want1(n))
		}, func(u model.AdminUser) bool { return u.DisabledAt != nil && u.DisabledAt.Equal(at) })
		step("enable", func() error {
			n, err := rows.setDisabled(ann.ID, nil)
			return errors.Join(err, want1(n))
		}, func(u model.AdminUser) bool { return u.DisabledAt == nil })
		step("language", func() error { return rows.setLanguage(ann.ID, "en") }, func(u model.AdminUser) bool { return u.Language == "en" })
		for i := 1; i <= 2; i++ {
			step("failure", func() error { return rows.countFailure(ann.ID) }, func(u model.AdminUser) bool { return u.FailedLogins == i })
		}
		until := clk.Now().Add(15 * time.Minute)
		if locked, err := rows.lockAt(ann.ID, 3, until); err != nil || locked {
			t.Fatalf("locked at 2 of 3 failures: %v %v", locked, err)
		}
		step("third failure", func() error { return rows.countFailure(ann.ID) }, func(u model.AdminUser) bool { return u.FailedLogins == 3 })
		step("lock", func() error {
			locked, err := rows.lockAt(ann.ID, 3, until)
			if !locked {
				return errors.Join(err, errors.New("not locked at the threshold"))
			}
			return err
		}, func(u model.AdminUser) bool {
			return u.FailedLogins == 0 && u.LockedUntil != nil && u.LockedUntil.Equal(until)
		})
		step("unlock", func() error {
			n, err := rows.unlock(ann.ID)
			return errors.Join(err, want1(n))
		}, func(u model.AdminUser) bool { return u.FailedLogins == 0 && u.LockedUntil == nil && u.Language == "en" })
		if n, err := rows.setDisabled(424242, &at); err != nil || n != 0 {
			t.Fatalf("no such account: %d %v", n, err)
		}
	})
}

func want1(n int64) error {
	if n != 1 {
		return errors.New("not one row changed")
	}
	return nil
}

// TestNoChangeUnrecorded: an account change and its audit action commit
// together, in the store's transaction with its retry: when the action
// cannot be written the change is undone, and a retried transaction
// writes each once (a failed login is counted once).
func TestNoChangeUnrecorded(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		trail := &storetest.FlakyTrail{Store: store.New(db, clock.System{}, quiet)}
		conn := redistest.Open(t)
		s, err := New(db, trail, conn.Client, conn.Prefix, Options{BcryptCost: bcrypt.MinCost, MaxFailures: 5}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Create(ctx, "ann", pw, RoleReviewer, ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		broken := errors.New("the audit trail is unavailable")
		trail.Fail = broken
		if _, err := s.Create(ctx, "bob", pw, RoleReviewer, ActorCLI); !errors.Is(err, broken) {
			t.Fatalf("create without its audit: %v", err)
		}
		if err := s.SetDisabled(ctx, u.ID, true, review.Actor(9)); !errors.Is(err, broken) {
			t.Fatalf("disable without its audit: %v", err)
		}
		if _, _, err := s.Login(ctx, "ann", "wrong password!", "10.0.0.1"); !errors.Is(err, broken) {
			t.Fatalf("failed login without its audit: %v", err)
		}
		var n int64
		db.Model(&model.AdminUser{}).Where("username = ?", "bob").Count(&n)
		var row model.AdminUser
		db.Take(&row, u.ID)
		if n != 0 || row.DisabledAt != nil || row.FailedLogins != 0 {
			t.Fatalf("unrecorded changes stayed: bob %d, ann %+v", n, row)
		}
		trail.Fail, trail.Conflicts = nil, 1
		if _, _, err := s.Login(ctx, "ann", "wrong password!", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failed login: %v", err)
		}
		trail.Conflicts = 1
		if _, err := s.Create(ctx, "cyd", pw, RoleReviewer, ActorCLI); err != nil {
			t.Fatalf("create retried: %v", err)
		}
		db.Take(&row, u.ID)
		db.Model(&model.AdminUser{}).Where("username = ?", "cyd").Count(&n)
		var failed, created int64
		db.Model(&model.VerificationEvent{}).Where("type = ?", review.EventAdminLoginFailed).Count(&failed)
		db.Model(&model.VerificationEvent{}).Where("type = ?", review.EventAccountCreated).Count(&created)
		if row.FailedLogins != 1 || n != 1 || failed != 1 || created != 2 {
			t.Fatalf("after retried transactions: %d failures counted, %d cyd, %d failure and %d creation events", row.FailedLogins, n, failed, created)
		}
	})
}
