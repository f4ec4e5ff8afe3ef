package model_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
)

func TestStatementCounts(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		diff := func(before model.Counts) model.Counts {
			now := model.StatementCounts(db)
			return model.Counts{Statements: now.Statements - before.Statements, Commits: now.Commits - before.Commits}
		}
		c := model.StatementCounts(db)
		var n int64
		db.Model(&model.User{}).Count(&n)
		if d := diff(c); d != (model.Counts{Statements: 1}) {
			t.Fatalf("a lone read: %+v", d)
		}
		c = model.StatementCounts(db)
		if err := db.Create(&model.User{AppID: "wx1", OpenID: "o-count"}).Error; err != nil {
			t.Fatal(err)
		}
		if d := diff(c); d != (model.Counts{Statements: 1, Commits: 1}) {
			t.Fatalf("a lone write: %+v", d)
		}
		c = model.StatementCounts(db)
		err := db.Transaction(func(tx *gorm.DB) error {
			var u model.User
			if err := tx.Where("open_id = ?", "o-count").Take(&u).Error; err != nil {
				return err
			}
			return tx.Model(&u).UpdateColumn("union_id", "u-1").Error
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(c); d != (model.Counts{Statements: 2, Commits: 1}) {
			t.Fatalf("a transaction: %+v", d)
		}
		c = model.StatementCounts(db)
		sub := db.Model(&model.User{}).Select("id").Where("open_id = ?", "o-count")
		if err := db.Model(&model.User{}).Where("id IN (?)", sub).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("a read with a subquery: %d, %v", n, err)
		}
		if d := diff(c); d != (model.Counts{Statements: 1}) {
			t.Fatalf("a read with a subquery (rendered into it, never sent): %+v", d)
		}
		c = model.StatementCounts(db)
		boom := errors.New("boom")
		_ = db.Transaction(func(tx *gorm.DB) error {
			tx.Model(&model.User{}).Where("open_id = ?", "o-count").UpdateColumn("union_id", "u-2")
			return boom
		})
		if d := diff(c); d != (model.Counts{Statements: 1}) {
			t.Fatalf("a rolled-back transaction: %+v", d)
		}
	})
}

// TestSQLiteFilesAreOwnerOnly: the database file and its WAL are 0600.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	db, err := model.Open(context.Background(), "", dir, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close(db)
	if err := model.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"realname.db", "realname.db-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v", name, fi.Mode().Perm())
		}
	}
}
