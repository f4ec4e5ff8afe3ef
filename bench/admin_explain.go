package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/pii"
	"realname/service/review"
)

// explainQueue prints PostgreSQL's plan, with actual times, of the
// verifications query each timed call made: the SQL is captured from gorm
// as review.Queue built it, so the plan is of the query the pages run.
func explainQueue(ctx context.Context, dsn, dataDir string, ring *pii.KeyRing, queries []adminQuery, w io.Writer) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := model.Open(ctx, dsn, dataDir, quiet, clock.System{}.Now)
	if err != nil {
		return err
	}
	defer model.Close(db)
	var (
		sql  string
		vars []any
	)
	err = db.Callback().Query().After("gorm:query").Register("bench:capture", func(tx *gorm.DB) {
		if sql == "" && tx.Statement.Table == "verifications" {
			sql, vars = tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)
		}
	})
	if err != nil {
		return err
	}
	rv := review.New(review.Deps{Reads: db, Crypto: ring, Log: quiet}, review.Options{})
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	for _, q := range queries {
		sql, vars = "", nil
		// The middle of the cursor list: a page deep in the queue.
		if _, err := rv.Queue(ctx, q.filter(100)); err != nil {
			return err
		}
		if sql == "" {
			return fmt.Errorf("%s: no query on verifications captured", q.name)
		}
		rows, err := sqlDB.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, vars...)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "admin: plan %s: %s\n", q.name, oneLine(sql))
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return err
			}
			fmt.Fprintf(w, "admin: plan %s | %s\n", q.name, strings.TrimRight(line, " "))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
