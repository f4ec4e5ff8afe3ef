package apikey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
)

// The kinds of refusal counted in api_key_refusals.
const (
	RefusedRate  = "rate_limited"
	RefusedScope = "insufficient_scope"
)

// ErrScope is a request for an operation whose scope the key lacks.
var ErrScope = errors.New("apikey: the key lacks the scope")

// LimitError is a request over the key's rate; RetryAfter is how long
// until the next one would pass.
type LimitError struct{ RetryAfter time.Duration }

// Error says the request was over the rate and when to retry.
func (e *LimitError) Error() string {
	return fmt.Sprintf("apikey: over the key's rate; retry after %v", e.RetryAfter)
}

// Admit decides whether key may make a request needing scope: first the
// key's rate is taken (every request counts, so none is unbounded), then
// the scope is checked. A refusal (*LimitError, or ErrScope) is counted per
// key, minute and kind, never recorded one by one: the request writes at
// most one upsert, and the table at most one row per key and minute. A
// request let through is recorded by RecordUse once answered.
func (s *Service) Admit(ctx context.Context, key Key, scope string) error {
	if ok, wait := s.Allow(ctx, key.ID); !ok {
		s.countRefusal(ctx, key.ID, RefusedRate)
		return &LimitError{RetryAfter: wait}
	}
	if !key.Has(scope) {
		s.countRefusal(ctx, key.ID, RefusedScope)
		return fmt.Errorf("%w %s", ErrScope, scope)
	}
	return nil
}

// countRefusal adds one to key id's refusals of kind this minute. A
// failure is logged: the refusal stands, its count is what is lost.
func (s *Service) countRefusal(ctx context.Context, id int64, kind string) {
	row := model.APIKeyRefusal{KeyID: id, Minute: s.clk.Now().UTC().Truncate(time.Minute), Kind: kind, Requests: 1}
	err := s.conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key_id"}, {Name: "minute"}, {Name: "kind"}},
		DoUpdates: clause.Set{{Column: clause.Column{Name: "requests"}, Value: gorm.Expr("api_key_refusals.requests + 1")}},
	}).Create(&row).Error
	if err != nil {
		s.log.Warn("counting an API key refusal failed", "key", id, "kind", kind, "err", err)
	}
}

// Refusals returns key id's latest refusal counts, newest minute first.
func (s *Service) Refusals(ctx context.Context, id int64, limit int) ([]model.APIKeyRefusal, error) {
	var rows []model.APIKeyRefusal
	if err := s.conn(ctx).Where("key_id = ?", id).Order("minute DESC, kind").Limit(min(max(limit, 1), 500)).
		Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apikey: refusals: %w", err)
	}
	return rows, nil
}

// Allow takes one request from key id's rate, shared by every instance;
// when refused it says how long until the next one would pass. Without
// Redis the request passes (logged): the API staying up matters more than
// the limit over an outage.
func (s *Service) Allow(ctx context.Context, id int64) (bool, time.Duration) {
	if s.lim == nil {
		return true, 0
	}
	res, err := s.lim.Allow(ctx, fmt.Sprintf("%s%d", s.prefix, id), s.limit)
	if err != nil {
		s.log.Warn("api key rate limit unavailable; letting the request through", "key", id, "err", err)
		return true, 0
	}
	return res.Allowed > 0, res.RetryAfter
}

// Use is one request made with a key.
type Use struct {
	KeyID          int64
	Method, Route  string
	Status         int
	RequestID      string
	VerificationID int64 // 0: the request named no verification
}

// RecordUse writes the audit row of one request Admit let through and, at
// most once a minute per key, its last use. Refusals are not uses: Admit
// counts them.
func (s *Service) RecordUse(ctx context.Context, u Use, last *time.Time) error {
	now := s.clk.Now()
	row := model.APIKeyUse{KeyID: u.KeyID, At: now, Method: u.Method, Route: truncate(u.Route, 96), Status: u.Status,
		RequestID: truncate(u.RequestID, 32)}
	if u.VerificationID != 0 {
		row.VerificationID = &u.VerificationID
	}
	db := s.conn(ctx)
	if err := db.Create(&row).Error; err != nil {
		return fmt.Errorf("apikey: record use: %w", err)
	}
	if last == nil || now.Sub(*last) >= touchEvery {
		if err := db.Model(&model.APIKey{}).Where("id = ?", u.KeyID).UpdateColumn("last_used_at", now).Error; err != nil {
			return fmt.Errorf("apikey: last use: %w", err)
		}
	}
	return nil
}

// Uses returns key id's latest uses, newest first.
func (s *Service) Uses(ctx context.Context, id int64, limit int) ([]model.APIKeyUse, error) {
	var rows []model.APIKeyUse
	if err := s.conn(ctx).Where("key_id = ?", id).Order("at DESC, id DESC").Limit(min(max(limit, 1), 500)).
		Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apikey: uses: %w", err)
	}
	return rows, nil
}

// Prune deletes the use records and refusal counts older than before, in
// batches, and returns how many rows went.
//
// ownercheck:tables api_key_uses, api_key_refusals
func (s *Service) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, t := range []struct {
		table  any
		column string
	}{{&model.APIKeyUse{}, "at"}, {&model.APIKeyRefusal{}, "minute"}} {
		for {
			var ids []int64
			if err := s.conn(ctx).Model(t.table).Where(t.column+" < ?", before).Limit(1000).Pluck("id", &ids).Error; err != nil {
				return total, fmt.Errorf("apikey: prune: %w", err)
			}
			if len(ids) == 0 {
				break
			}
			res := s.conn(ctx).Where("id IN ?", ids).Delete(t.table)
			if res.Error != nil {
				return total, fmt.Errorf("apikey: prune: %w", res.Error)
			}
			total += res.RowsAffected
		}
	}
	return total, nil
}
