package verify

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"realname/model"
)

// dayKey is the user's counter for kind today, China time: WeChat users
// expect "per day" to reset at their midnight.
func (s *Service) dayKey(kind string, userID int64) (string, time.Duration) {
	now, midnight := s.today()
	return s.prefix + kind + ":" + strconv.FormatInt(userID, 10) + ":" + now.Format("20060102"), midnight.Sub(now)
}

// today is now in China and the midnight that ends today, when every
// daily limit resets.
func (s *Service) today() (now, midnight time.Time) {
	now = s.now().In(s.china)
	return now, time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, s.china)
}

// spend counts one attempt of kind against limit; over the limit it
// returns a *TooManyError with the time to midnight.
func (s *Service) spend(ctx context.Context, kind string, userID int64, limit int) error {
	if limit <= 0 {
		return nil
	}
	key, untilMidnight := s.dayKey(kind, userID)
	n, err := s.rdb.Incr(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("verify: count attempts: %w", err)
	}
	if n == 1 {
		s.rdb.Expire(ctx, key, untilMidnight+time.Hour)
	}
	if n > int64(limit) {
		return s.tooMany(LimitAttempts)
	}
	return nil
}

// Scripts for the per-identity limits, each on one key so they run on
// Redis Cluster too. addToDaySet adds ARGV[1] to the set unless that
// would make it larger than ARGV[2] (-1), and says whether it added it.
// countDay counts one more unless that would pass ARGV[1] (-1).
var (
	addToDaySet = redis.NewScript(`
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  if redis.call('SCARD', KEYS[1]) > tonumber(ARGV[2]) then
    redis.call('SREM', KEYS[1], ARGV[1])
    return -1
  end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return added`)
	countDay = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return -1
end
return n`)
)

// spendIdentity counts a check of number against the limits that hold
// across accounts: the checks of this number today, whoever asks, and the
// different numbers this account has tried today. The number appears in
// Redis only as a keyed hash. The returned undo gives both back when the
// check does not go ahead.
func (s *Service) spendIdentity(ctx context.Context, userID int64, number string) (undo func(), err error) {
	undo = func() {}
	now, midnight := s.today()
	day := now.Format("20060102")
	untilMidnight := midnight.Sub(now)
	ttl := strconv.Itoa(int((untilMidnight + time.Hour).Seconds()))
	id := hexHash(s.crypto.Hash("id_limit", []byte(number)))
	var added bool
	setKey := s.prefix + "ids:" + strconv.FormatInt(userID, 10) + ":" + day
	if lim := s.policy.IDsPerAccountPerDay; lim > 0 {
		n, err := addToDaySet.Run(ctx, s.rdb, []string{setKey}, id, lim, ttl).Int()
		if err != nil {
			return undo, fmt.Errorf("verify: count numbers tried: %w", err)
		}
		if n < 0 {
			return undo, s.tooMany(LimitIDsPerAccount)
		}
		added = n == 1
	}
	dropAdded := func() {
		if added {
			if err := s.rdb.SRem(context.WithoutCancel(ctx), setKey, id).Err(); err != nil {
				s.log.Warn("giving back a number tried failed", "err", err)
			}
		}
	}
	countKey := s.prefix + "idchecks:" + id + ":" + day
	lim := s.policy.ChecksPerIDPerDay
	if lim <= 0 {
		return dropAdded, nil
	}
	n, err := countDay.Run(ctx, s.rdb, []string{countKey}, lim, ttl).Int()
	if err != nil {
		dropAdded()
		return undo, fmt.Errorf("verify: count checks of the number: %w", err)
	}
	if n < 0 {
		dropAdded()
		return undo, s.tooMany(LimitIDChecks)
	}
	return func() {
		dropAdded()
		if err := s.rdb.Decr(context.WithoutCancel(ctx), countKey).Err(); err != nil {
			s.log.Warn("giving back a check of a number failed", "err", err)
		}
	}, nil
}

// hexHash is the first 16 bytes of a keyed hash, in hex: what the limits
// file a number under.
func hexHash(h []byte) string { return hex.EncodeToString(h[:16]) }

// tooMany is the refusal of limit, which resets at the next midnight,
// China time.
func (s *Service) tooMany(limit Limit) *TooManyError {
	now, midnight := s.today()
	return &TooManyError{RetryAfter: midnight.Sub(now), ResetAt: midnight, Limit: limit}
}

// withinLimit refuses, without spending one, when the user has no attempt
// of kind left today.
func (s *Service) withinLimit(ctx context.Context, kind string, userID int64, limit int) error {
	if limit > 0 && s.left(ctx, kind, userID, limit) == 0 {
		return s.tooMany(LimitAttempts)
	}
	return nil
}

// refund gives back an attempt spent on a request that did nothing.
func (s *Service) refund(ctx context.Context, kind string, userID int64) {
	key, _ := s.dayKey(kind, userID)
	if err := s.rdb.Decr(context.WithoutCancel(ctx), key).Err(); err != nil {
		s.log.Warn("refunding an attempt failed", "err", err)
	}
}

// left reports how many attempts of kind remain today.
func (s *Service) left(ctx context.Context, kind string, userID int64, limit int) int {
	key, _ := s.dayKey(kind, userID)
	n, err := s.rdb.Get(ctx, key).Int()
	if err != nil {
		n = 0
	}
	return max(0, limit-n)
}

// consentGiven is the consent that applies to a call: the current notice's
// version, and whether this call gave it and it is not on record yet.
type consentGiven struct {
	version string
	record  bool
}

// checkConsent checks that the user agreed to the current notice, with
// this call (version) or before. latest is the user's latest verification
// (nil for none): it was opened under the notice it names, so when that is
// the current one the consent is on record without a query. It writes
// nothing: the caller records a consent given now with recordConsent, in
// the transaction that uses it. Consent to an older notice does not count.
func (s *Service) checkConsent(ctx context.Context, userID int64, version string, latest *model.Verification) (consentGiven, error) {
	want := s.policy.ConsentVersion
	if version != "" && version != want {
		return consentGiven{}, fmt.Errorf("%w: agreed to %q, current is %q", ErrConsentOutdated, version, want)
	}
	if latest != nil && latest.ConsentVersion == want {
		return consentGiven{version: want}, nil
	}
	if version != "" {
		return consentGiven{version: want, record: true}, nil
	}
	has, err := s.store.HasConsent(ctx, userID, want)
	if err != nil {
		return consentGiven{}, fmt.Errorf("verify: consent: %w", err)
	}
	if !has {
		return consentGiven{}, ErrConsentRequired
	}
	return consentGiven{version: want}, nil
}

// recordConsent stores a consent given with this call, in ctx's
// transaction when there is one.
func (s *Service) recordConsent(ctx context.Context, userID int64, c consentGiven) error {
	if !c.record {
		return nil
	}
	return s.store.RecordConsent(ctx, userID, c.version)
}
