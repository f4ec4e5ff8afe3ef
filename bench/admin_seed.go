package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"realname/service/pii"
	"realname/service/review"
	"realname/service/store"
)

// The seeded state mix, in rows per thousand: what a year of a service
// that verifies most people at once looks like.
var stateMix = []struct {
	state   string
	perMill int
	reasons []string
}{
	{string(store.Verified), 700, []string{""}},
	{string(store.Rejected), 120, []string{"name_id_mismatch", "card_expired", "id_number_invalid"}},
	{string(store.Expired), 100, []string{"idle"}},
	{string(store.Draft), 40, []string{""}},
	{string(store.Recognized), 20, []string{""}},
	{string(store.Review), 19, []string{"no_record", "source_unavailable", "id_already_bound", "ocr_mismatch"}},
	{string(store.Checking), 1, []string{""}},
}

// Known ID numbers: 1% of the rows carry one of them, perKnown rows each,
// as people with several accounts or attempts would; the rest carry a
// random hash (or none, before a number was submitted).
const (
	knownNumbers = 1000
	perKnown     = 10
)

// seedResult says what was seeded, for the queries to use.
type seedResult struct {
	review   int
	known    []string // ID numbers as staff would type them
	perKnown int
}

// seedVerifications fills users and verifications with n rows each by
// COPY, the fastest way into PostgreSQL, with the migrations' indexes in
// place so the seed also shows what the write path pays for them.
func seedVerifications(ctx context.Context, dsn string, ring *pii.KeyRing, n int) (seedResult, error) {
	res := seedResult{perKnown: max(1, n/100/knownNumbers)}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Fixed seeds: two runs seed the same table.
	rng := rand.New(rand.NewPCG(20261123, 8))
	now := time.Now().UTC().Truncate(time.Millisecond)
	year := int64(365 * 24 * time.Hour)

	knownHashes := make([][]byte, knownNumbers)
	for i := range knownHashes {
		// Not valid numbers (the check digit is left to chance): the
		// search hashes what it is given, valid or not, the same way.
		number := fmt.Sprintf("11010119900101%04d", i)
		res.known = append(res.known, number)
		knownHashes[i] = ring.Hash(pii.PurposeIDNumber, []byte(number))
	}

	i := 0
	users := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		i++
		at := now.Add(-time.Duration(rng.Int64N(year)))
		return []any{int64(i), "wxsandbox0000000001", fmt.Sprintf("oBench%022d", i), fmt.Sprintf("uBench%022d", i), at, at}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "app_id", "open_id", "union_id", "created_at", "updated_at"}, users); err != nil {
		return res, fmt.Errorf("copy users: %w", err)
	}

	i = 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		i++
		updated := now.Add(-time.Duration(rng.Int64N(year)))
		created := updated.Add(-time.Duration(rng.Int64N(int64(30 * time.Minute))))
		state, reason := pickState(rng)
		var hash []byte
		if i%100 == 0 {
			// One row in a hundred belongs to a known number, mostly
			// decided, some in review.
			k := i / 100
			hash = knownHashes[k%knownNumbers]
			state, reason = string(store.Verified), ""
			switch k % 10 {
			case 0:
				state, reason = string(store.Review), "id_already_bound"
			case 1:
				state, reason = string(store.Rejected), "name_id_mismatch"
			}
		} else if state != string(store.Draft) && state != string(store.Recognized) && state != string(store.Expired) {
			hash = make([]byte, 32)
			for j := 0; j < 32; j += 8 {
				v := rng.Uint64()
				for b := range 8 {
					hash[j+b] = byte(v >> (8 * b))
				}
			}
		}
		if state == string(store.Review) {
			res.review++
		}
		var decided *time.Time
		if state == string(store.Verified) || state == string(store.Rejected) || state == string(store.Review) {
			decided = &updated
		}
		mode := "photo"
		if rng.IntN(10) == 0 {
			mode = "check"
		}
		return []any{int64(i), int64(i), state, int64(1 + rng.IntN(5)), mode, reason, "wechat", "林**",
			hash, "1101**********2138", "v1", decided, created, updated}, nil
	})
	cols := []string{"id", "user_id", "state", "version", "mode", "reason", "provider", "name_masked",
		"id_number_hash", "id_number_masked", "consent_version", "decided_at", "created_at", "updated_at"}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"verifications"}, cols, rows); err != nil {
		return res, fmt.Errorf("copy verifications: %w", err)
	}
	// Explicit ids bypassed the sequences; and fresh statistics, as
	// autovacuum would gather them soon after such a load.
	for _, sql := range []string{
		"SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))",
		"SELECT setval(pg_get_serial_sequence('verifications', 'id'), (SELECT max(id) FROM verifications))",
		"VACUUM ANALYZE users",
		"VACUUM ANALYZE verifications",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return res, fmt.Errorf("%s: %w", sql, err)
		}
	}
	return res, nil
}

// pickState draws a state and a reason from stateMix.
func pickState(rng *rand.Rand) (string, string) {
	r := rng.IntN(1000)
	for _, s := range stateMix {
		if r < s.perMill {
			return s.state, s.reasons[rng.IntN(len(s.reasons))]
		}
		r -= s.perMill
	}
	return string(store.Verified), ""
}

// queueCursors picks k positions spread over the review queue, so the
// keyset pages are timed at every depth, not only near its head.
func queueCursors(ctx context.Context, db *gorm.DB, k int) ([]review.Cursor, error) {
	var rows []struct {
		UpdatedAt time.Time
		ID        int64
	}
	err := db.WithContext(ctx).Raw("SELECT updated_at, id FROM verifications WHERE state = ? ORDER BY random() LIMIT ?", string(store.Review), k).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no verification in review to page from")
	}
	out := make([]review.Cursor, len(rows))
	for i, r := range rows {
		out[i] = review.Cursor{UpdatedAt: r.UpdatedAt, ID: r.ID}
	}
	return out, nil
}
