package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/review"
	"realname/service/store"
)

// ActorCLI is the audit actor of accounts made on the command line.
const ActorCLI = "cli"

func validName(u string) bool {
	if len(u) < 3 || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Create adds an account. actor is who did it ("admin:<id>" or ActorCLI),
// for the audit trail.
func (s *Service) Create(ctx context.Context, username, password, role, actor string) (model.AdminUser, error) {
	username = strings.TrimSpace(username)
	switch {
	case !validName(username):
		return model.AdminUser{}, ErrInvalidName
	case role != RoleReviewer && role != RoleAdmin:
		return model.AdminUser{}, ErrInvalidRole
	case len(password) < 12 || len(password) > 72: // bcrypt reads 72 bytes at most
		return model.AdminUser{}, ErrWeakPassword
	case guessable(username, password):
		return model.AdminUser{}, ErrWeakPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost)
	if err != nil {
		return model.AdminUser{}, fmt.Errorf("admin: hash password: %w", err)
	}
	u := model.AdminUser{Username: username, PasswordHash: string(hash), Role: role}
	err = s.trail.InTx(ctx, func(ctx context.Context) error {
		tx := s.accounts(ctx)
		var n int64
		if err := tx.db.Model(&model.AdminUser{}).Where("LOWER(username) = ?", strings.ToLower(username)).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		if err := tx.insert(&u); err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrExists
			}
			return err
		}
		return s.trail.AppendAction(ctx, actor, review.EventAccountCreated, map[string]any{"account": u.ID, "username": u.Username, "role": role})
	})
	if err != nil && !errors.Is(err, ErrExists) {
		err = fmt.Errorf("admin: create: %w", err)
	}
	return u, err
}

// List returns every account, by username.
func (s *Service) List(ctx context.Context) ([]model.AdminUser, error) {
	var out []model.AdminUser
	if err := s.db.WithContext(ctx).Order("username").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("admin: list: %w", err)
	}
	return out, nil
}

// SetDisabled disables or re-enables an account. Disabling ends the
// account's sessions (and every request re-reads the account anyway).
func (s *Service) SetDisabled(ctx context.Context, id int64, disabled bool, actor string) error {
	err := s.change(ctx, id, actor, map[string]any{"disabled": disabled}, func(tx accounts) (int64, error) {
		if disabled {
			now := s.now()
			return tx.setDisabled(id, &now)
		}
		return tx.setDisabled(id, nil)
	})
	if err != nil || !disabled {
		return err
	}
	return s.endSessions(ctx, id)
}

// Unlock lifts a lock-out and clears the failure count.
func (s *Service) Unlock(ctx context.Context, id int64, actor string) error {
	return s.change(ctx, id, actor, map[string]any{"unlocked": true}, func(tx accounts) (int64, error) {
		return tx.unlock(id)
	})
}

// Languages are the console languages an account may choose; "" gives
// the choice back to the browser.
var Languages = []string{"", "zh-CN", "en"}

// SetLanguage stores the console language of account id, a display
// preference (not audited: it changes nothing anyone may do or see).
func (s *Service) SetLanguage(ctx context.Context, id int64, lang string) error {
	if !slices.Contains(Languages, lang) {
		return fmt.Errorf("%w: language %q", ErrInvalidLanguage, lang)
	}
	if err := s.accounts(ctx).setLanguage(id, lang); err != nil {
		return fmt.Errorf("admin: set language: %w", err)
	}
	return nil
}

// change writes one change of account id and its audit action in one
// transaction.
func (s *Service) change(ctx context.Context, id int64, actor string, data map[string]any, update func(accounts) (int64, error)) error {
	return s.trail.InTx(ctx, func(ctx context.Context) error {
		tx := s.accounts(ctx)
		n, err := update(tx)
		if err != nil {
			return fmt.Errorf("admin: update account: %w", err)
		}
		if n == 0 {
			var found int64
			if err := tx.db.Model(&model.AdminUser{}).Where("id = ?", id).Count(&found).Error; err != nil || found == 0 {
				return ErrNotFound
			}
		}
		data["account"] = id
		return s.trail.AppendAction(ctx, actor, review.EventAccountChanged, data)
	})
}

// accounts is the admin_users table on ctx's connection: the audit
// trail's transaction when ctx carries one, else the service's own.
func (s *Service) accounts(ctx context.Context) accounts {
	return accounts{db: store.Joined(ctx, s.db)}
}

// ReadPassword reads a password as the first line of r (a terminal or a
// pipe), without its line ending.
func ReadPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("admin: read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("admin: no password on standard input")
	}
	return line, nil
}

// CreateFromCLI is "realname admin create": the password comes from stdin.
func CreateFromCLI(ctx context.Context, db *gorm.DB, username, role string, stdin io.Reader, opts Options) (model.AdminUser, error) {
	pw, err := ReadPassword(stdin)
	if err != nil {
		return model.AdminUser{}, err
	}
	quiet := slog.New(slog.DiscardHandler)
	s, err := New(db, store.New(db, opts.withDefaults().Clock, quiet), nil, "", opts, quiet)
	if err != nil {
		return model.AdminUser{}, err
	}
	return s.Create(ctx, username, pw, role, ActorCLI)
}

// guessable reports whether password falls to a guessing attack: zxcvbn
// (Dropbox's estimator, here trustelem's maintained Go port) scores it
// against common passwords, names, keyboard patterns, dates and the words
// of this service and account; below 3 ("safely unguessable") is refused.
func guessable(username, password string) bool {
	return zxcvbn.PasswordStrength(password, []string{username, "realname", "admin", "reviewer", "shiming"}).Score < 3
}
