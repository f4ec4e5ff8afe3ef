package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/review"
)

// Session is a signed-in staff member, as of this request: role and
// username are read from the account each time, so a change or a
// disabled account takes effect at once.
type Session struct {
	AdminID   int64
	Username  string
	Role      string
	Language  string // the console language the account chose; "" for the browser's
	ExpiresAt time.Time
}

// IsAdmin reports whether the session may manage accounts and webhooks.
func (s Session) IsAdmin() bool { return s.Role == RoleAdmin }

type entry struct {
	AdminID   int64     `json:"id"`
	ExpiresAt time.Time `json:"exp"`
}

func (s *Service) sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.prefix + "sess:" + hex.EncodeToString(sum[:])
}

func (s *Service) userSessionsKey(id int64) string {
	return s.prefix + "user:" + strconv.FormatInt(id, 10) + ":sessions"
}

// createSession issues a random 256-bit token; Redis keeps only its hash.
func (s *Service) createSession(ctx context.Context, u model.AdminUser) (string, Session, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Session{}, fmt.Errorf("admin: random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	e := entry{AdminID: u.ID, ExpiresAt: s.now().Add(s.opts.SessionTTL)}
	raw, _ := json.Marshal(e)
	key, set := s.sessionKey(token), s.userSessionsKey(u.ID)
	// The key lives for the idle timeout; each request renews it, up to
	// the session's lifetime.
	if err := s.rdb.Set(ctx, key, raw, s.opts.IdleTimeout).Err(); err != nil {
		return "", Session{}, fmt.Errorf("admin: store session: %w", err)
	}
	// The per-account index lets disabling an account end its sessions.
	if err := s.rdb.SAdd(ctx, set, key).Err(); err == nil {
		_ = s.rdb.Expire(ctx, set, s.opts.SessionTTL).Err()
	}
	return token, Session{AdminID: u.ID, Username: u.Username, Role: u.Role, Language: u.Language, ExpiresAt: e.ExpiresAt}, nil
}

// Session returns who token belongs to, or ErrNoSession when it is
// unknown, expired, or its account is disabled or gone.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrNoSession
	}
	raw, err := s.rdb.Get(ctx, s.sessionKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("admin: session: %w", err)
	}
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil || !e.ExpiresAt.After(s.now()) {
		return Session{}, ErrNoSession
	}
	var u model.AdminUser
	err = s.db.WithContext(ctx).Take(&u, e.AdminID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("admin: session account: %w", err)
	}
	if u.DisabledAt != nil {
		return Session{}, ErrNoSession
	}
	if err := s.rdb.Expire(ctx, s.sessionKey(token), min(s.opts.IdleTimeout, e.ExpiresAt.Sub(s.now()))).Err(); err != nil {
		return Session{}, fmt.Errorf("admin: session: %w", err)
	}
	return Session{AdminID: u.ID, Username: u.Username, Role: u.Role, Language: u.Language, ExpiresAt: e.ExpiresAt}, nil
}

// Logout ends the session and records it.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return nil // nothing to end
	}
	key := s.sessionKey(token)
	if err := s.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("admin: logout: %w", err)
	}
	_ = s.rdb.SRem(ctx, s.userSessionsKey(sess.AdminID), key).Err()
	return s.trail.AppendAction(ctx, review.Actor(sess.AdminID), review.EventAdminLogout, map[string]any{})
}

// endSessions drops every session of an account.
func (s *Service) endSessions(ctx context.Context, id int64) error {
	if s.rdb == nil {
		return nil
	}
	set := s.userSessionsKey(id)
	keys, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return fmt.Errorf("admin: end sessions: %w", err)
	}
	for _, k := range append(keys, set) {
		if err := s.rdb.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("admin: end sessions: %w", err)
		}
	}
	return nil
}
