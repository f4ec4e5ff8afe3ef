package verify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"realname/model"
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

// ensureConsent records consent given with this call, or checks one was
// given before. Consent to an older notice does not count.
func (s *Service) ensureConsent(ctx context.Context, userID int64, version string) (string, error) {
	want := s.policy.ConsentVersion
	if version != "" {
		if version != want {
			return "", fmt.Errorf("%w: agreed to %q, current is %q", ErrConsentOutdated, version, want)
		}
		var n int64
		if err := s.db.WithContext(ctx).Model(&model.Consent{}).Where("user_id = ? AND version = ?", userID, want).Count(&n).Error; err != nil {
			return "", fmt.Errorf("verify: consent: %w", err)
		}
		if n == 0 {
			c := model.Consent{UserID: userID, Version: want, AgreedAt: s.now()}
			if err := s.db.WithContext(ctx).Create(&c).Error; err != nil {
				return "", fmt.Errorf("verify: record consent: %w", err)
			}
		}
		return want, nil
	}
	var c model.Consent
	err := s.db.WithContext(ctx).Where("user_id = ? AND version = ?", userID, want).Order("id DESC").Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrConsentRequired
	}
	if err != nil {
		return "", fmt.Errorf("verify: consent: %w", err)
	}
	return want, nil
}
