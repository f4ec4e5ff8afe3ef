package store

import (
	"context"
	"fmt"
	"time"

	"realname/model"
)

// Recipient is who a notification goes to: the Mini Program user.
type Recipient struct {
	AppID, OpenID string
	Erased        bool
}

// DueNotifications leases up to n pending notifications whose time has
// come, for lease, to one courier: a courier that dies leaves them to
// another once the lease ends. Each comes with its verification and
// recipient.
func (s *Store) DueNotifications(ctx context.Context, n int, lease time.Duration) ([]model.Notification, error) {
	now := s.clk.Now()
	var due []model.Notification
	err := s.conn(ctx).Where("status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)",
		model.NotifyPending, now, now).Order("next_attempt_at").Limit(n).Find(&due).Error
	if err != nil {
		return nil, fmt.Errorf("store: due notifications: %w", err)
	}
	var out []model.Notification
	until := now.Add(lease)
	for _, d := range due {
		// A conditional update takes each row once, whichever instance
		// runs it first; no lock is held across the send.
		res := s.conn(ctx).Model(&model.Notification{}).
			Where("id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)", d.ID, model.NotifyPending, now).
			Select("lease_until", "updated_at").UpdateColumns(&model.Notification{LeaseUntil: &until, UpdatedAt: now})
		if res.Error != nil {
			return out, fmt.Errorf("store: lease notification: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			d.LeaseUntil = &until
			out = append(out, d)
		}
	}
	return out, nil
}

// RecipientOf is the user a notification is for.
func (s *Store) RecipientOf(ctx context.Context, n model.Notification) (Recipient, error) {
	var u model.User
	if err := s.conn(ctx).Select("app_id", "open_id", "erased_at").Where("id = ?", n.UserID).Take(&u).Error; err != nil {
		return Recipient{}, fmt.Errorf("store: recipient: %w", err)
	}
	return Recipient{AppID: u.AppID, OpenID: u.OpenID, Erased: u.ErasedAt != nil}, nil
}

// NotificationDone records an attempt: status (model.Notify*), the error
// said (codes and messages, never personal data), and for a pending one
// when to try again.
func (s *Store) NotificationDone(ctx context.Context, n model.Notification, status, lastErr string, next time.Time) error {
	now := s.clk.Now()
	if len(lastErr) > 256 {
		lastErr = lastErr[:256]
	}
	err := s.conn(ctx).Model(&model.Notification{}).Where("id = ? AND status = ?", n.ID, model.NotifyPending).
		Select("status", "attempts", "last_error", "next_attempt_at", "lease_until", "updated_at").
		UpdateColumns(&model.Notification{Status: status, Attempts: n.Attempts + 1, LastError: lastErr, NextAttemptAt: next, UpdatedAt: now}).Error
	if err != nil {
		return fmt.Errorf("store: record notification: %w", err)
	}
	return nil
}
