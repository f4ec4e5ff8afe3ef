package model

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrations is the ordered schema history. Append only: a migration that has
// run anywhere is never edited, a fix is a new migration.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		migration0001(),
		migration0002(),
		migration0003(),
		migration0004(),
		migration0005(),
		migration0006(),
		migration0007(),
		migration0008(),
		migration0009(),
		migration0010(),
		migration0011(),
		migration0012(),
		migration0013(),
		migration0014(),
		migration0015(),
		migration0016(),
		migration0017(),
		migration0018(),
	}
}

func migrator(ctx context.Context, db *gorm.DB) *gormigrate.Gormigrate {
	return gormigrate.New(db.WithContext(ctx), &gormigrate.Options{
		TableName:      "schema_migrations",
		IDColumnName:   "id",
		IDColumnSize:   255,
		UseTransaction: db.Name() != DialectMySQL, // MySQL DDL commits implicitly anyway
	}, migrations())
}

// Migrate applies every pending migration in order. Several instances may
// start at once, so the run holds a database-wide lock.
func Migrate(ctx context.Context, db *gorm.DB) error {
	return withMigrationLock(ctx, db, func(conn *gorm.DB) error {
		if err := migrator(ctx, conn).Migrate(); err != nil {
			return fmt.Errorf("model: migrate: %w", err)
		}
		return nil
	})
}

// MigrateTo applies migrations up to and including id.
func MigrateTo(ctx context.Context, db *gorm.DB, id string) error {
	return withMigrationLock(ctx, db, func(conn *gorm.DB) error {
		if err := migrator(ctx, conn).MigrateTo(id); err != nil {
			return fmt.Errorf("model: migrate to %s: %w", id, err)
		}
		return nil
	})
}

// RollbackLast undoes the most recent applied migration.
func RollbackLast(ctx context.Context, db *gorm.DB) error {
	return withMigrationLock(ctx, db, func(conn *gorm.DB) error {
		if err := migrator(ctx, conn).RollbackLast(); err != nil {
			return fmt.Errorf("model: rollback: %w", err)
		}
		return nil
	})
}

// migrationLockKey is an arbitrary constant shared by every instance.
const migrationLockKey = 7_301_202_611

// withMigrationLock runs fn on one pinned connection holding an advisory lock
// (PostgreSQL) or named lock (MySQL); SQLite's file lock already serialises.
func withMigrationLock(ctx context.Context, db *gorm.DB, fn func(*gorm.DB) error) error {
	var lock, unlock string
	switch db.Name() {
	case DialectPostgres:
		lock, unlock = fmt.Sprintf("SELECT pg_advisory_lock(%d)", migrationLockKey), fmt.Sprintf("SELECT pg_advisory_unlock(%d)", migrationLockKey)
	case DialectMySQL:
		lock, unlock = "SELECT GET_LOCK('realname_migrate', 300)", "SELECT RELEASE_LOCK('realname_migrate')"
	default:
		return fn(db)
	}
	return db.WithContext(ctx).Connection(func(pinned *gorm.DB) error {
		// A fresh session per statement: the pinned handle would otherwise
		// accumulate clauses, and the unlock must run as its own statement.
		conn := func() *gorm.DB { return pinned.Session(&gorm.Session{NewDB: true}) }
		if db.Name() == DialectMySQL {
			var got sql.NullInt64 // 1 when taken, 0 on timeout
			if err := conn().Raw(lock).Scan(&got).Error; err != nil {
				return fmt.Errorf("model: take migration lock: %w", err)
			}
			if got.Int64 != 1 {
				return fmt.Errorf("model: migration lock is held by another instance")
			}
		} else if err := conn().Exec(lock).Error; err != nil {
			return fmt.Errorf("model: take migration lock: %w", err)
		}
		defer func() {
			// A failed unlock would leave the lock on a pooled connection.
			if err := conn().Exec(unlock).Error; err != nil {
				pinned.Logger.Error(ctx, "model: release migration lock: %v", err)
			}
		}()
		return fn(conn())
	})
}

// MigrationStatus lists every known migration and whether it has run.
func MigrationStatus(ctx context.Context, db *gorm.DB) ([]MigrationState, error) {
	var applied []string
	if db.Migrator().HasTable("schema_migrations") {
		if err := db.WithContext(ctx).Table("schema_migrations").Pluck("id", &applied).Error; err != nil {
			return nil, fmt.Errorf("model: read schema_migrations: %w", err)
		}
	}
	done := map[string]bool{}
	for _, id := range applied {
		done[id] = true
	}
	var out []MigrationState
	for _, m := range migrations() {
		out = append(out, MigrationState{ID: m.ID, Applied: done[m.ID]})
	}
	return out, nil
}

// MigrationState is one migration and whether it has been applied.
type MigrationState struct {
	ID      string
	Applied bool
}
