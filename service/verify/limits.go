package verify

import (
	"context"
	"fmt"
	"realname/model"
	"strconv"
	"time"
)

// dayKey is the user's counter for kind today, China time: WeChat users
// expect "per day" to reset at their midnight.
func (s *Service) dayKey(kind string, userID int64) (string, time.Duration) {
	now := s.now().In(s.china)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, s.china)
	return s.prefix + kind + ":" + strconv.FormatInt(userID, 10) + ":" + now.Format("20060102"), midnight.Sub(now)
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
		return &TooManyError{RetryAfter: untilMidnight}
	}
	return nil
}

// withinLimit refuses, without spending one, when the user has no attempt
// of kind left today.
func (s *Service) withinLimit(ctx context.Context, kind string, userID int64, limit int) error {
	if limit > 0 && s.left(ctx, kind, userID, limit) == 0 {
		_, untilMidnight := s.dayKey(kind, userID)
		return &TooManyError{RetryAfter: untilMidnight}
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
