package main

import (
	"context"
	"log/slog"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/pii"
)

// openMigrated opens the database at dsn, applies the migrations and makes
// a fresh personal-data key ring for the run. The caller closes db.
func openMigrated(ctx context.Context, dsn, dataDir string, log *slog.Logger) (*gorm.DB, *pii.KeyRing, error) {
	db, err := model.Open(ctx, dsn, dataDir, log, clock.System{}.Now)
	if err != nil {
		return nil, nil, err
	}
	if err := model.Migrate(ctx, db); err != nil {
		_ = model.Close(db)
		return nil, nil, err
	}
	spec, err := pii.GenerateKeySpec()
	if err != nil {
		_ = model.Close(db)
		return nil, nil, err
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		_ = model.Close(db)
		return nil, nil, err
	}
	return db, ring, nil
}
