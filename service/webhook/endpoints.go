package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"realname/model"
	"realname/service/webhook/internal/whstore"
)

// Endpoint is a receiver as the admin pages show it. The secret is never
// part of it; see RevealSecret.
type Endpoint struct {
	ID             int64
	URL            string
	EventTypes     []string // empty: every type
	Enabled        bool
	AllowPrivate   bool
	DisabledReason string
	FailingSince   *time.Time // first failure since the last success
	FromConfig     bool       // REALNAME_WEBHOOK_URL; configuration wins over edits at the next start
	// RotatingUntil is set while the previous secret still signs too.
	RotatingUntil *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// EndpointSpec is what an admin (or the configuration) sets on an endpoint.
type EndpointSpec struct {
	URL          string
	EventTypes   []string // empty: every type
	AllowPrivate bool     // may resolve to loopback/private addresses
	Secret       string   // "whsec_…"; empty: a fresh one is generated
}

// configKey marks the endpoint that comes from configuration.
const configKey = "default"

// reasonNotConfigured is the DisabledReason earlier versions gave the
// configured endpoint when an instance started without REALNAME_WEBHOOK_URL
// (now it stays enabled); a start with the configuration enables such an
// endpoint again.
const reasonNotConfigured = "removed from configuration (REALNAME_WEBHOOK_URL is empty)"

func secretAAD(id int64) []byte { return fmt.Appendf(nil, "webhook_endpoints.secret_enc:%d", id) }
func prevSecretAAD(id int64) []byte {
	return fmt.Appendf(nil, "webhook_endpoints.prev_secret_enc:%d", id)
}

func view(e *model.WebhookEndpoint, now time.Time) Endpoint {
	v := Endpoint{ID: e.ID, URL: e.URL, EventTypes: splitTypes(e.EventTypes), Enabled: e.Enabled, AllowPrivate: e.AllowPrivate,
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, FromConfig: e.ConfigKey != nil,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PrevSecretUntil != nil && e.PrevSecretUntil.After(now) {
		v.RotatingUntil = e.PrevSecretUntil
	}
	return v
}

// checkURL accepts absolute http(s) URLs without credentials: a password in
// the URL would sit in the database and the admin pages in clear text, and
// the signature already authenticates us.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return invalid("url_parse", "the URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("url_scheme", "the URL must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return invalid("url_host", "the URL has no host")
	case u.User != nil:
		return invalid("url_credentials", "the URL must not carry credentials; receivers authenticate us by the signature")
	case u.Fragment != "":
		return invalid("url_fragment", "the URL must not have a #fragment")
	case len(raw) > 2048:
		return invalid("url_too_long", "the URL is longer than 2048 characters")
	}
	return nil
}

// Endpoints lists every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]Endpoint, error) {
	rows, err := s.st.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Endpoint, len(rows))
	for i := range rows {
		out[i] = view(&rows[i], now)
	}
	return out, nil
}

// Endpoint returns one endpoint.
func (s *Service) Endpoint(ctx context.Context, id int64) (Endpoint, error) {
	e, err := s.st.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	return view(&e, s.now()), nil
}

// CreateEndpoint adds an enabled endpoint and returns it with its secret,
// which the admin hands to the receiver.
func (s *Service) CreateEndpoint(ctx context.Context, spec EndpointSpec) (Endpoint, string, error) {
	e, secret, err := s.create(ctx, spec, nil)
	if err != nil {
		return Endpoint{}, "", err
	}
	s.log.Info("webhook endpoint created", "endpoint", e.ID, "url", e.URL)
	return view(&e, s.now()), secret, nil
}

func (s *Service) create(ctx context.Context, spec EndpointSpec, key *string) (model.WebhookEndpoint, string, error) {
	var e model.WebhookEndpoint
	if err := checkURL(spec.URL); err != nil {
		return e, "", err
	}
	if err := s.checkPrivate(spec.AllowPrivate); err != nil {
		return e, "", err
	}
	types, err := normalizeTypes(spec.EventTypes)
	if err != nil {
		return e, "", err
	}
	secret := spec.Secret
	if secret == "" {
		if secret, err = NewSecret(); err != nil {
			return e, "", err
		}
	}
	if _, err := ParseSecret(secret); err != nil {
		return e, "", err
	}
	e = model.WebhookEndpoint{URL: spec.URL, EventTypes: strings.Join(types, ","), Enabled: true,
		AllowPrivate: spec.AllowPrivate, ConfigKey: key}
	// The secret is sealed with the row id as associated data.
	e, err = s.st.CreateEndpoint(ctx, e, func(id int64) ([]byte, error) { return s.seal.Encrypt([]byte(secret), secretAAD(id)) })
	if err != nil {
		return e, "", fmt.Errorf("webhook: create endpoint: %w", err)
	}
	s.invalidateTargets()
	return e, secret, nil
}

// DisableEndpoint stops deliveries to the endpoint; its queued deliveries
// wait (paused) until it is enabled again.
func (s *Service) DisableEndpoint(ctx context.Context, id int64, reason string) error {
	if reason == "" {
		reason = "disabled by an administrator"
	}
	return s.disable(ctx, id, reason, nil)
}

// disable sets enabled=false and pauses the endpoint's queue; with
// failingBefore it does so only while the endpoint has been failing since
// before that time, and reports through the error (whstore.ErrNotDisabled)
// whether it did.
func (s *Service) disable(ctx context.Context, id int64, reason string, failingBefore *time.Time) error {
	defer s.invalidateTargets()
	return s.st.Disable(ctx, id, truncate(reason, 255), failingBefore, s.now())
}

// EnableEndpoint resumes deliveries, paused ones first thing: enabling is
// the admin saying the receiver is back.
func (s *Service) EnableEndpoint(ctx context.Context, id int64) error {
	err := s.st.Enable(ctx, id, s.now())
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("webhook: enable endpoint %d: %w", id, err)
	}
	s.invalidateTargets()
	s.kick()
	return err
}

// DeleteEndpoint removes the endpoint with its deliveries and their
// attempts. A configured endpoint comes back at the next start.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	err := s.st.DeleteEndpoint(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("webhook: delete endpoint %d: %w", id, err)
	}
	s.invalidateTargets()
	return err
}

// RevealSecret returns the endpoint's current secret, for an admin to copy
// to the receiver. Callers audit who asked.
func (s *Service) RevealSecret(ctx context.Context, id int64) (string, error) {
	e, err := s.st.Endpoint(ctx, id)
	if err != nil {
		return "", err
	}
	plain, err := s.seal.Decrypt(e.SecretEnc, secretAAD(e.ID))
	if err != nil {
		return "", fmt.Errorf("webhook: open secret of endpoint %d: %w", id, err)
	}
	return string(plain), nil
}

// RotateSecret gives the endpoint a fresh secret and returns it. The old
// one keeps signing beside it for Options.RotationGrace, so the receiver
// can switch without losing a delivery.
func (s *Service) RotateSecret(ctx context.Context, id int64) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	if _, err := s.rotateTo(ctx, id, secret); err != nil {
		return "", err
	}
	s.log.Info("webhook secret rotated", "endpoint", id, "old_valid_until", s.now().Add(s.opts.RotationGrace))
	return secret, nil
}

// rotateTo makes secret the endpoint's current one, keeping the old as
// previous; it reports false when secret already was the current one. The
// row is locked so two instances rotating at once cannot lose the old one.
func (s *Service) rotateTo(ctx context.Context, id int64, secret string) (bool, error) {
	if _, err := ParseSecret(secret); err != nil {
		return false, err
	}
	now := s.now()
	changed, err := s.st.Rotate(ctx, id, now, func(e *model.WebhookEndpoint) (whstore.Secrets, bool, error) {
		old, err := s.seal.Decrypt(e.SecretEnc, secretAAD(e.ID))
		if err != nil || string(old) == secret {
			return whstore.Secrets{}, false, err
		}
		prev, err := s.seal.Encrypt(old, prevSecretAAD(e.ID))
		if err != nil {
			return whstore.Secrets{}, false, err
		}
		cur, err := s.seal.Encrypt([]byte(secret), secretAAD(e.ID))
		until := now.Add(s.opts.RotationGrace)
		return whstore.Secrets{Current: cur, Prev: prev, PrevUntil: &until}, err == nil, err
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
		return false, fmt.Errorf("webhook: rotate secret of endpoint %d: %w", id, err)
	}
	s.invalidateTargets()
	return changed, err
}

// keys returns the signing keys of e: the current one, and the previous
// one while its grace period lasts.
func (s *Service) keys(e *model.WebhookEndpoint, now time.Time) ([][]byte, error) {
	cur, err := s.seal.Decrypt(e.SecretEnc, secretAAD(e.ID))
	if err != nil {
		return nil, fmt.Errorf("webhook: open secret of endpoint %d: %w", e.ID, err)
	}
	k, err := ParseSecret(string(cur))
	if err != nil {
		return nil, err
	}
	out := [][]byte{k}
	if len(e.PrevSecretEnc) > 0 && e.PrevSecretUntil != nil && e.PrevSecretUntil.After(now) {
		prev, err := s.seal.Decrypt(e.PrevSecretEnc, prevSecretAAD(e.ID))
		if err != nil {
			return nil, fmt.Errorf("webhook: open previous secret of endpoint %d: %w", e.ID, err)
		}
		if pk, err := ParseSecret(string(prev)); err == nil {
			out = append(out, pk)
		}
	}
	return out, nil
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
