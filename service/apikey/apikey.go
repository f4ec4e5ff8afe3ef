// Package apikey holds the keys business systems use for the server API
// (/server/v1/): their creation (the secret shown once, only its SHA-256
// kept), scopes, the app they are bound to, revocation, per-key rate
// limits shared by every instance (GCRA in Redis through
// go-redis/redis_rate), and the record of their uses.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/store"
)

// The scopes a key may hold.
const (
	ScopeVerificationsRead  = "verifications:read"
	ScopeEventsRead         = "events:read"
	ScopeVerificationsWrite = "verifications:write"
)

// Scopes lists every scope, in the order they are shown.
func Scopes() []string {
	return []string{ScopeVerificationsRead, ScopeEventsRead, ScopeVerificationsWrite}
}

// keyPrefix starts every key, so a leaked one is recognised for what it is
// (secret scanners, logs) and a Mini Program token is never taken for one.
const keyPrefix = "rnk_"

// The audit events of keys.
const (
	EventCreated = "api_key_created"
	EventRevoked = "api_key_revoked"
)

// Errors callers map to answers.
var (
	ErrInvalidKey = errors.New("apikey: unknown, malformed or revoked key")
	ErrInvalid    = errors.New("apikey: invalid")
	ErrNotFound   = errors.New("apikey: no such key")
)

// AllApps is the app of a key that reaches every app's users and events:
// an admin's explicit choice in a deployment of several Mini Programs.
const AllApps = "*"

// Key is a key as it may be shown: never its secret.
type Key struct {
	ID         int64
	Name       string
	Prefix     string // rnk_ and ten hex digits: what the key starts with
	Scopes     []string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// AppID is the app whose users and events the key reaches, or AllApps.
	AppID string
	// Legacy marks a key made before keys were bound to apps: it is bound
	// to the one app configured, or reaches every app when there are
	// several (as it did), until an admin replaces it.
	Legacy bool
}

// Has reports whether the key holds scope.
func (k Key) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// EveryApp reports whether the key reaches every app's users and events.
func (k Key) EveryApp() bool { return k.AppID == AllApps }

// Within is the app the key is limited to, or "" when it reaches every app.
func (k Key) Within() string {
	if k.EveryApp() {
		return ""
	}
	return k.AppID
}

// Trail records keys made and revoked in the hash-chained audit trail (a
// *store.Store): a key's row is written in one of its transactions, with
// its retry, beside the action, so no key is made or revoked unrecorded.
type Trail interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	AppendAction(ctx context.Context, actor, typ string, data map[string]any) error
}

// touchEvery is how often, at most, a key's last_used_at is written.
const touchEvery = time.Minute

// Service manages the keys.
type Service struct {
	db     *gorm.DB // api_keys, api_key_uses, api_key_refusals: this package's tables, written only here
	trail  Trail
	apps   []string // the configured Mini Programs' appids
	lim    *redis_rate.Limiter
	prefix string
	limit  redis_rate.Limit
	clk    clock.Clock
	log    *slog.Logger
}

// Deps are what the key service works with.
type Deps struct {
	DB        *gorm.DB              // the keys' tables
	Trail     Trail                 // records keys made and revoked (the store)
	Redis     redis.UniversalClient // counts each key's rate; nil (the command line) takes none
	Prefix    string                // the deployment's Redis key prefix
	PerSecond int                   // each key's rate, with a burst of twice that
	Apps      []string              // the configured Mini Programs' appids, the apps a key may be bound to
	Clock     clock.Clock
	Log       *slog.Logger
}

// New builds the service (see Deps for what each part is for).
func New(d Deps) *Service {
	db, trail, rdb, prefix, perSecond, apps, clk, log := d.DB, d.Trail, d.Redis, d.Prefix, d.PerSecond, d.Apps, d.Clock, d.Log
	perSecond = max(perSecond, 1)
	s := &Service{db: db, trail: trail, apps: slices.Clone(apps), prefix: prefix + "apikey:rate:",
		limit: redis_rate.Limit{Rate: perSecond, Period: time.Second, Burst: 2 * perSecond},
		clk:   clk, log: log.With("component", "apikey")}
	if rdb != nil {
		s.lim = redis_rate.NewLimiter(rdb)
	}
	return s
}

// conn is the keys' tables on ctx's connection: the trail's transaction
// when ctx carries one, else the service's own.
func (s *Service) conn(ctx context.Context) *gorm.DB { return store.Joined(ctx, s.db) }

// Apps lists the apps a key may be bound to, in configuration order.
func (s *Service) Apps() []string { return slices.Clone(s.apps) }

// view is a row as it may be shown. A key made before keys were bound to
// apps (no app stored) is the one configured app's, or reaches every app
// when several are configured: what it did before, shown as such so an
// admin can replace it with bound keys.
func (s *Service) view(k model.APIKey) Key {
	out := Key{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: splitScopes(k.Scopes), CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, AppID: k.AppID}
	if out.AppID == "" {
		out.Legacy, out.AppID = true, AllApps
		if len(s.apps) == 1 {
			out.AppID = s.apps[0]
		}
	}
	return out
}

// app checks the app a new key is bound to: a configured appid, AllApps,
// or "" for the only app configured.
func (s *Service) app(app string) (string, error) {
	app = strings.TrimSpace(app)
	switch {
	case app == AllApps || slices.Contains(s.apps, app):
		return app, nil
	case app == "" && len(s.apps) == 1:
		return s.apps[0], nil
	case app == "":
		return "", fmt.Errorf("%w: name the key's app (one of %s) or all apps", ErrInvalid, strings.Join(s.apps, ", "))
	}
	return "", fmt.Errorf("%w: unknown app %q (configured: %s)", ErrInvalid, app, strings.Join(s.apps, ", "))
}

func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Create makes a key named name with scopes, bound to app (an appid,
// AllApps, or "" for the only app configured), and returns it with the
// whole key, which is shown this once: only the SHA-256 of its secret is kept.
func (s *Service) Create(ctx context.Context, name string, scopes []string, app, actor string) (Key, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return Key{}, "", fmt.Errorf("%w: a name of 1 to 64 characters is required", ErrInvalid)
	}
	var clean []string
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if sc == "" || slices.Contains(clean, sc) {
			continue
		}
		if !slices.Contains(Scopes(), sc) {
			return Key{}, "", fmt.Errorf("%w: unknown scope %q (known: %s)", ErrInvalid, sc, strings.Join(Scopes(), ", "))
		}
		clean = append(clean, sc)
	}
	if len(clean) == 0 {
		return Key{}, "", fmt.Errorf("%w: at least one scope is required (%s)", ErrInvalid, strings.Join(Scopes(), ", "))
	}
	app, err := s.app(app)
	if err != nil {
		return Key{}, "", err
	}
	id := make([]byte, 5)
	secret := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return Key{}, "", fmt.Errorf("apikey: random: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, "", fmt.Errorf("apikey: random: %w", err)
	}
	prefix := keyPrefix + hex.EncodeToString(id)
	full := prefix + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(full))
	row := model.APIKey{Name: name, Prefix: prefix, SecretHash: sum[:], Scopes: strings.Join(clean, ","), CreatedBy: actor,
		CreatedAt: s.clk.Now(), AppID: app}
	err = s.trail.InTx(ctx, func(ctx context.Context) error {
		row.ID = 0 // a retried transaction inserts again
		if err := s.conn(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("apikey: create: %w", err)
		}
		return s.trail.AppendAction(ctx, actor, EventCreated, map[string]any{"key": row.ID, "prefix": prefix, "name": name, "scopes": clean,
			"app": app})
	})
	if err != nil {
		return Key{}, "", err
	}
	s.log.Info("api key created", "key", row.ID, "prefix", prefix, "scopes", row.Scopes, "app", app, "by", actor)
	return s.view(row), full, nil
}

// List returns every key, newest first.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	var rows []model.APIKey
	if err := s.conn(ctx).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apikey: list: %w", err)
	}
	out := make([]Key, len(rows))
	for i, r := range rows {
		out[i] = s.view(r)
	}
	return out, nil
}

// Find returns the key with id, or ErrNotFound.
func (s *Service) Find(ctx context.Context, id int64) (Key, error) {
	var row model.APIKey
	err := s.conn(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("apikey: find: %w", err)
	}
	return s.view(row), nil
}

// Revoke ends key id at once; revoking a revoked key changes nothing.
func (s *Service) Revoke(ctx context.Context, id int64, actor string) error {
	revoked := false
	err := s.trail.InTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&model.APIKey{}).Where("id = ? AND revoked_at IS NULL", id).
			UpdateColumn("revoked_at", s.clk.Now())
		if res.Error != nil {
			return fmt.Errorf("apikey: revoke: %w", res.Error)
		}
		if revoked = res.RowsAffected > 0; !revoked {
			_, err := s.Find(ctx, id)
			return err
		}
		return s.trail.AppendAction(ctx, actor, EventRevoked, map[string]any{"key": id})
	})
	if err == nil && revoked {
		s.log.Info("api key revoked", "key", id, "by", actor)
	}
	return err
}

// Authenticate returns the live key raw is, or ErrInvalidKey. The secret
// is compared in constant time against the stored hash.
func (s *Service) Authenticate(ctx context.Context, raw string) (Key, error) {
	const prefixLen = len(keyPrefix) + 10
	if len(raw) < prefixLen+2 || len(raw) > 128 || !strings.HasPrefix(raw, keyPrefix) || raw[prefixLen] != '_' {
		return Key{}, ErrInvalidKey
	}
	var row model.APIKey
	err := s.conn(ctx).Where("prefix = ?", raw[:prefixLen]).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Key{}, ErrInvalidKey
	}
	if err != nil {
		return Key{}, fmt.Errorf("apikey: authenticate: %w", err)
	}
	sum := sha256.Sum256([]byte(raw))
	if subtle.ConstantTimeCompare(sum[:], row.SecretHash) != 1 || row.RevokedAt != nil {
		return Key{}, ErrInvalidKey
	}
	return s.view(row), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
