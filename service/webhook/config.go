package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// EnsureConfigured makes the configured default endpoint (REALNAME_WEBHOOK_URL
// and _SECRET) exist as configured. Every instance calls it at start, before
// Run; the unique config key and the locked rotation make that safe. A
// changed secret is rotated in (the old one keeps signing for the grace
// period). An empty URL disables a previously configured endpoint. An admin's
// or the dispatcher's disabling is left alone.
func (s *Service) EnsureConfigured(ctx context.Context, spec EndpointSpec) error {
	e, found, err := s.st.ConfiguredEndpoint(ctx, configKey)
	if err != nil {
		return err
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
		if e, _, err = s.st.ConfiguredEndpoint(ctx, configKey); err != nil {
			return err
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
	joined := strings.Join(types, ",")
	var changed []string
	if e.URL != spec.URL {
		s.log.Warn("webhook: the configured endpoint's URL differs from this instance's REALNAME_WEBHOOK_URL; the newest start's value wins", "endpoint", e.ID)
		changed = append(changed, "url")
	}
	if e.EventTypes != joined {
		changed = append(changed, "event_types")
	}
	if e.AllowPrivate != spec.AllowPrivate {
		changed = append(changed, "allow_private")
	}
	if len(changed) > 0 {
		if err := s.st.Reconfigure(ctx, e.ID, spec.URL, joined, spec.AllowPrivate, s.now()); err != nil {
			return fmt.Errorf("webhook: update configured endpoint: %w", err)
		}
		s.invalidateTargets()
	}
	if !e.Enabled && e.DisabledReason == reasonNotConfigured {
		changed = append(changed, "enabled")
		if err := s.EnableEndpoint(ctx, e.ID); err != nil {
			return err
		}
	}
	if len(changed) > 0 {
		s.log.Info("webhook: configured endpoint updated", "endpoint", e.ID, "fields", changed)
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
