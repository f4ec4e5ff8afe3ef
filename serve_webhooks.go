package main

import (
	"context"
	"fmt"

	"realname/config"
	"realname/service/webhook"
)

// webhookOptions turns the configuration into dispatcher options.
func webhookOptions(cfg config.Config) (webhook.Options, error) {
	w := cfg.Webhook
	schedule, err := webhook.ParseSchedule(w.Schedule)
	if err != nil {
		return webhook.Options{}, err
	}
	cidrs, err := webhook.ParseCIDRs(w.AllowCIDRs)
	if err != nil {
		return webhook.Options{}, err
	}
	disable := w.DisableAfter
	if disable == 0 {
		disable = -1 // configuration's "never"; the service's zero means its default
	}
	retention := w.Retention
	if retention == 0 {
		retention = -1 // configuration's "forever"
	}
	return webhook.Options{Schedule: schedule, Timeout: w.Timeout, Lease: w.Lease, Workers: w.Workers, BatchSize: w.BatchSize,
		PollInterval: w.PollInterval, DisableAfter: disable, RotationGrace: w.RotationGrace, Retention: retention,
		AllowCIDRs: cidrs, PrivateNetworks: cfg.WebhookPrivateNetworks()}, nil
}

// buildWebhooks makes the webhook service and brings the configured
// endpoint in line with the configuration, before the dispatcher runs.
func buildWebhooks(ctx context.Context, b *base) (*webhook.Service, error) {
	cfg := b.cfg
	opts, err := webhookOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts.Clock = b.clk
	hooks, err := webhook.New(b.db, b.ring, b.log, b.reg, opts)
	if err != nil {
		return nil, err
	}
	err = hooks.EnsureConfigured(ctx, webhook.EndpointSpec{URL: cfg.Webhook.URL, Secret: cfg.Webhook.Secret, EventTypes: cfg.Webhook.EventTypes})
	if err != nil {
		return nil, fmt.Errorf("REALNAME_WEBHOOK_URL: %w", err)
	}
	return hooks, nil
}
