package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/review"
)

// Login checks a username and password and opens a session. Attempts are
// rate limited per client address and per username; MaxFailures wrong
// passwords in a row lock the account for LockFor. The answer never says
// whether a username exists.
func (s *Service) Login(ctx context.Context, username, password, ip string) (string, Session, error) {
	username = strings.TrimSpace(username)
	if err := s.limit(ctx, ip, username); err != nil {
		return "", Session{}, err
	}
	var u model.AdminUser
	err := s.db.WithContext(ctx).Where("username = ?", username).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password)) // same cost as a real check
		s.log.Info("admin login: unknown username", "ip", ip)
		return "", Session{}, ErrBadCredentials
	}
	if err != nil {
		return "", Session{}, fmt.Errorf("admin: login: %w", err)
	}
	now := s.now()
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		// The same work as any other attempt, so the answer's time does not
		// tell a locked account from a wrong password or a missing one.
		_ = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password))
		return "", Session{}, errors.Join(ErrLocked, s.failed(ctx, u, ip, "locked"))
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return "", Session{}, s.wrongPassword(ctx, u, ip)
	}
	if u.DisabledAt != nil {
		return "", Session{}, errors.Join(ErrBadCredentials, s.failed(ctx, u, ip, "disabled"))
	}
	err = s.trail.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.accounts(ctx).unlock(u.ID); err != nil {
			return err
		}
		return s.trail.AppendAction(ctx, review.Actor(u.ID), review.EventAdminLogin, map[string]any{"ip": ip})
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("admin: login: %w", err)
	}
	_ = s.rdb.Del(ctx, s.userLimitKey(username)).Err()
	return s.createSession(ctx, u)
}

// wrongPassword counts a failure and locks the account at the threshold.
func (s *Service) wrongPassword(ctx context.Context, u model.AdminUser, ip string) error {
	locked := false
	err := s.trail.InTx(ctx, func(ctx context.Context) error {
		tx := s.accounts(ctx)
		if err := tx.countFailure(u.ID); err != nil {
			return err
		}
		until := s.now().Add(s.opts.LockFor)
		var err error
		if locked, err = tx.lockAt(u.ID, s.opts.MaxFailures, until); err != nil {
			return err
		}
		if err := s.trail.AppendAction(ctx, review.Actor(u.ID), review.EventAdminLoginFailed, map[string]any{"ip": ip, "cause": "password"}); err != nil {
			return err
		}
		if locked {
			return s.trail.AppendAction(ctx, review.Actor(u.ID), review.EventAdminLocked, map[string]any{"until": until})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("admin: record failed login: %w", err)
	}
	if locked {
		return ErrLocked
	}
	return ErrBadCredentials
}

// failed audits a refused login that is not a wrong password.
func (s *Service) failed(ctx context.Context, u model.AdminUser, ip, cause string) error {
	err := s.trail.AppendAction(ctx, review.Actor(u.ID), review.EventAdminLoginFailed, map[string]any{"ip": ip, "cause": cause})
	if err != nil {
		return fmt.Errorf("admin: record failed login: %w", err)
	}
	return nil
}

func (s *Service) userLimitKey(username string) string {
	return s.prefix + "login:user:" + strings.ToLower(username)
}

// limit counts an attempt against the address and the username and
// refuses it past either limit. Redis being down refuses logins rather than
// dropping the limit.
func (s *Service) limit(ctx context.Context, ip, username string) error {
	for _, l := range []struct {
		key string
		max int
	}{{s.prefix + "login:ip:" + ip, s.opts.LoginsPerIP}, {s.userLimitKey(username), s.opts.LoginsPerUser}} {
		n, err := s.rdb.Incr(ctx, l.key).Result()
		if err != nil {
			return fmt.Errorf("admin: rate limit: %w", err)
		}
		if n == 1 {
			if err := s.rdb.Expire(ctx, l.key, s.opts.LoginWindow).Err(); err != nil {
				return fmt.Errorf("admin: rate limit: %w", err)
			}
		}
		if n > int64(l.max) {
			ttl, _ := s.rdb.TTL(ctx, l.key).Result()
			if ttl <= 0 {
				ttl = time.Second
				_ = s.rdb.Expire(ctx, l.key, s.opts.LoginWindow).Err() // a key that lost its expiry
			}
			return &RateLimitError{RetryAfter: ttl}
		}
	}
	return nil
}
