package webhook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"

	"realname/model"
)

// EnsureConfigured makes the configured default endpoint (REALNAME_WEBHOOK_URL
// and _SECRET) exist as configured. Every instance calls it at start, before
// Run; the unique config key and the locked rotation make that safe. A
// changed secret is rotated in (the old one keeps signing for the grace
// period). An empty URL disables a previously configured endpoint. An admin's
// or the dispatcher's disabling is left alone.
func (s *Service) EnsureConfigured(ctx context.Context, spec EndpointSpec) error {
	var e model.WebhookEndpoint
	err := s.db.WithContext(ctx).Where("config_key = ?", configKey).Take(&e).Error
	found := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("webhook: configured endpoint: %w", err)
	}
	if spec.URL == "" {
		// The endpoint is declared by the instances that configure it; one
		// started without the variable (a rolling deploy, a typo) must not
		// switch it off for all of them. Disabling or deleting it is an
		// admin's act, in the admin pages.
		if found && e.Enabled {
			s.log.Warn("webhook: this instance has no REALNAME_WEBHOOK_URL, but other instances configured an endpoint; it stays as they declared it (disable or delete it in the admin pages to stop it)", "endpoint", e.ID)
		}
		return nil
	}
	if spec.Secret == "" {
		return fmt.Errorf("%w: REALNAME_WEBHOOK_SECRET is required with REALNAME_WEBHOOK_URL (generate one with: realname webhooks secret)", ErrInvalid)
	}
	if !found {
		key := configKey
		created, _, err := s.create(ctx, spec, &key)
		if err == nil {
			s.log.Info("webhook: configured endpoint created", "endpoint", created.ID, "url", created.URL)
			return nil
		}
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			return err
		}
		// Another instance created it a moment ago: bring it in line below.
		if err := s.db.WithContext(ctx).Where("config_key = ?", configKey).Take(&e).Error; err != nil {
			return fmt.Errorf("webhook: configured endpoint: %w", err)
		}
	}
	if err := checkURL(spec.URL); err != nil {
		return err
	}
	if err := s.checkPrivate(spec.AllowPrivate); err != nil {
		return err
	}
	types, err := normalizeTypes(spec.EventTypes)
	if err != nil {
		return err
	}
	set := map[string]any{}
	if e.URL != spec.URL {
		s.log.Warn("webhook: the configured endpoint's URL differs from this instance's REALNAME_WEBHOOK_URL; the newest start's value wins", "endpoint", e.ID)
		set["url"] = spec.URL
	}
	if joined := strings.Join(types, ","); e.EventTypes != joined {
		set["event_types"] = joined
	}
	if e.AllowPrivate != spec.AllowPrivate {
		set["allow_private"] = spec.AllowPrivate
	}
	if !e.Enabled && e.DisabledReason == reasonNotConfigured {
		set["enabled"], set["disabled_reason"] = true, ""
	}
	if len(set) > 0 {
		set["updated_at"] = s.now()
		if err := s.db.WithContext(ctx).Model(&model.WebhookEndpoint{}).Where("id = ?", e.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("webhook: update configured endpoint: %w", err)
		}
		s.invalidateTargets()
		if _, ok := set["enabled"]; ok {
			if err := s.EnableEndpoint(ctx, e.ID); err != nil {
				return err
			}
		}
		s.log.Info("webhook: configured endpoint updated", "endpoint", e.ID, "fields", slices.Sorted(maps.Keys(set)))
	}
	rotated, err := s.rotateTo(ctx, e.ID, spec.Secret)
	if err != nil {
		return err
	}
	if rotated {
		s.log.Info("webhook: configured secret changed; the old one signs too during the grace period",
			"endpoint", e.ID, "grace", s.opts.RotationGrace)
	}
	return nil
}
