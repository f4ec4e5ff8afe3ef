package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/pii"
	"realname/service/webhook"
	"realname/service/webhook/internal/whstore"
)

func TestEndpointLifecycle(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		for _, spec := range []webhook.EndpointSpec{
			{URL: "ftp://example.com/hook"},
			{URL: "https://user:pass@example.com/hook"},
			{URL: "https:///hook"},
			{URL: "https://example.com/hook", EventTypes: []string{"verification.done"}},
			{URL: "https://example.com/hook", Secret: "not-a-secret"},
		} {
			if _, _, err := s.CreateEndpoint(ctx, spec); !errors.Is(err, webhook.ErrInvalid) {
				t.Errorf("CreateEndpoint(%+v) = %v, want ErrInvalid", spec, err)
			}
		}
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://example.com/hook",
			EventTypes: []string{"verification.*", "user.data_erased"}})
		if err != nil {
			t.Fatal(err)
		}
		if !ep.Enabled || len(ep.EventTypes) != 2 || ep.FromConfig || ep.RotatingUntil != nil {
			t.Errorf("created %+v", ep)
		}
		var row model.WebhookEndpoint
		db.First(&row, ep.ID)
		if len(row.SecretEnc) == 0 || contains(string(row.SecretEnc), secret[6:]) {
			t.Error("the secret is not sealed at rest")
		}
		if got, err := s.RevealSecret(ctx, ep.ID); err != nil || got != secret {
			t.Errorf("RevealSecret = %q, %v", got, err)
		}
		rotated, err := s.RotateSecret(ctx, ep.ID)
		if err != nil || rotated == secret {
			t.Fatalf("RotateSecret = %q, %v", rotated, err)
		}
		if got, _ := s.RevealSecret(ctx, ep.ID); got != rotated {
			t.Errorf("after rotation RevealSecret = %q", got)
		}
		if e, _ := s.Endpoint(ctx, ep.ID); e.RotatingUntil == nil || time.Until(*e.RotatingUntil) < 23*time.Hour {
			t.Errorf("after rotation %+v, want the old secret valid for the grace period", e)
		}
		if err := s.DisableEndpoint(ctx, ep.ID, ""); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, ep.ID); e.Enabled || e.DisabledReason == "" {
			t.Errorf("after disable %+v", e)
		}
		if err := s.EnableEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, ep.ID); !e.Enabled || e.DisabledReason != "" {
			t.Errorf("after enable %+v", e)
		}
		if list := endpoints(t, s); len(list) != 1 || list[0].ID != ep.ID {
			t.Errorf("Endpoints = %+v", list)
		}
		if err := s.DeleteEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{s.DeleteEndpoint(ctx, ep.ID), s.EnableEndpoint(ctx, ep.ID), s.DisableEndpoint(ctx, ep.ID, "")} {
			if !errors.Is(err, webhook.ErrNotFound) {
				t.Errorf("on a deleted endpoint: %v, want ErrNotFound", err)
			}
		}
		if _, err := s.RotateSecret(ctx, ep.ID); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("rotate a deleted endpoint: %v", err)
		}
	})
}

// TestRotationSignsWithBothSecrets: during the grace period every delivery
// verifies with the old secret and with the new one.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	ctx := context.Background()
	rcv := newReceiver(t)
	s, _ := newService(t, db, testRing(t), fastOptions())
	ep, old, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.RotateSecret(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcv.setSecrets(old, fresh) // the receiver demands that each verifies
	insertEvents(t, db, 5, 5, 0)
	run(t, s)
	eventually(t, 20*time.Second, "the deliveries", func() bool { n, _ := rcv.received(); return n == 5 })
	rcv.check()
}

func TestEnsureConfigured(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ring := testRing(t)
		s, _ := newService(t, db, ring, fastOptions())
		other, _ := newService(t, db, ring, fastOptions())
		secret, _ := webhook.NewSecret()
		spec := webhook.EndpointSpec{URL: "https://biz.example.com/hooks", Secret: secret}
		if err := s.EnsureConfigured(ctx, webhook.EndpointSpec{URL: spec.URL}); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("without a secret: %v, want ErrInvalid", err)
		}
		// Two instances starting at once create one endpoint.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, svc := range []*webhook.Service{s, other} {
			wg.Go(func() { errs[i] = svc.EnsureConfigured(ctx, spec) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		list := endpoints(t, s)
		if len(list) != 1 || !list[0].FromConfig || list[0].URL != spec.URL || list[0].RotatingUntil != nil {
			t.Fatalf("endpoints = %+v, want the one configured", list)
		}
		id := list[0].ID
		// A new secret in the configuration is rotated in, the old one kept.
		next, _ := webhook.NewSecret()
		spec.Secret, spec.EventTypes = next, []string{"verification.verified"}
		if err := s.EnsureConfigured(ctx, spec); err != nil {
			t.Fatal(err)
		}
		e, _ := s.Endpoint(ctx, id)
		if got, _ := s.RevealSecret(ctx, id); got != next || e.RotatingUntil == nil || len(e.EventTypes) != 1 {
			t.Errorf("after a config change: %+v", e)
		}
		// An admin's disabling survives a restart.
		if err := s.DisableEndpoint(ctx, id, "receiver migrating"); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureConfigured(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, id); e.Enabled {
			t.Error("a restart re-enabled an endpoint an admin disabled")
		}
		if err := s.EnableEndpoint(ctx, id); err != nil {
			t.Fatal(err)
		}
		// An instance started without the variable leaves the endpoint
		// as the others declared it.
		if err := s.EnsureConfigured(ctx, webhook.EndpointSpec{}); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, id); !e.Enabled {
			t.Error("an instance without REALNAME_WEBHOOK_URL disabled the configured endpoint")
		}
		if err := s.EnsureConfigured(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, id); !e.Enabled {
			t.Errorf("configured again but %+v", e)
		}
		if n := len(endpoints(t, s)); n != 1 {
			t.Errorf("%d endpoints, want 1", n)
		}
	})
}

func TestReplay(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		rcv.down.Store(true)
		opts := fastOptions()
		opts.Schedule = []time.Duration{10 * time.Millisecond}
		s, reg := newService(t, db, testRing(t), opts)
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		start := time.Now().Add(-time.Second)
		insertEvents(t, db, 2, 2, 0)
		run(t, s)
		eventually(t, 20*time.Second, "both deliveries to fail", func() bool {
			return deliveryStates(t, db)[whstore.Failed] == 2
		})
		// Counted after the commit the states above come from.
		eventually(t, 10*time.Second, "the failed outcomes counted", func() bool {
			return counter(t, reg, "realname_webhook_deliveries_total", map[string]string{"outcome": "failed"}) == 2
		})
		ds, err := s.Deliveries(ctx, webhook.DeliveryFilter{EndpointID: ep.ID, Status: whstore.Failed})
		if err != nil || len(ds) != 2 || ds[0].EventType == "" || ds[0].Attempts != 2 {
			t.Fatalf("failed deliveries = %+v, %v", ds, err)
		}
		rcv.down.Store(false)
		// One delivery, by id.
		if err := s.Replay(ctx, ds[0].ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the replayed delivery", func() bool {
			n, _ := rcv.received()
			return n == 1 && deliveryStates(t, db)[whstore.Succeeded] == 1
		})
		d, attempts, err := s.DeliveryAttempts(ctx, ds[0].ID)
		if err != nil || d.Status != whstore.Succeeded || len(attempts) != 3 || attempts[2].StatusCode != 204 {
			t.Errorf("replayed delivery %+v with attempts %+v, %v", d, attempts, err)
		}
		if err := s.Replay(ctx, 999999); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("replay of a missing delivery: %v", err)
		}
		// Created while disabled: the fan-out gives the endpoint paused
		// deliveries, which the enable sends.
		if err := s.DisableEndpoint(ctx, ep.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Replay(ctx, ds[1].ID); !errors.Is(err, webhook.ErrEndpointDisabled) {
			t.Errorf("replay to a disabled endpoint: %v", err)
		}
		insertEvents(t, db, 3, 3, 0)
		eventually(t, 20*time.Second, "the fan-out", func() bool {
			b, err := s.Backlog(ctx)
			return err == nil && b.Unfanned == 0
		})
		if st := deliveryStates(t, db); st[whstore.Paused] != 3 {
			t.Fatalf("deliveries while disabled: %v, want 3 paused", st)
		}
		if err := s.EnableEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		r, err := s.ReplaySince(ctx, ep.ID, start)
		if err != nil || r.Requeued != 1 || r.Backfilled != 0 {
			t.Fatalf("ReplaySince = %+v, %v; want 1 requeued, nothing to backfill", r, err)
		}
		eventually(t, 20*time.Second, "everything", func() bool {
			n, _ := rcv.received()
			return n == 5 && deliveryStates(t, db)[whstore.Succeeded] == 5
		})
		if err := s.Replay(ctx, ds[1].ID); err != nil {
			t.Errorf("replay of a succeeded delivery: %v", err)
		}
		rcv.check()
	})
}

func TestEraseBlanksStoredAnswers(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		ep, _, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://example.com/hook"})
		if err != nil {
			t.Fatal(err)
		}
		ids := insertEvents(t, db, 2, 2, 0) // verification ids 1 and 2
		for i, id := range ids {
			d := model.WebhookDelivery{EventID: id, EndpointID: ep.ID, Status: whstore.Succeeded.String(), NextAttemptAt: time.Now()}
			if err := db.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
			a := model.WebhookAttempt{DeliveryID: d.ID, StatusCode: 200, Response: "echo: 张* " + ids[i], CreatedAt: time.Now()}
			if err := db.Create(&a).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Transaction(func(tx *gorm.DB) error { return webhook.Erase(ctx, tx, []int64{1}) }); err != nil {
			t.Fatal(err)
		}
		var answers []string
		db.Model(&model.WebhookAttempt{}).Order("id").Pluck("response", &answers)
		if len(answers) != 2 || answers[0] != "" || answers[1] == "" {
			t.Errorf("answers after erasing verification 1: %q", answers)
		}
	})
}

// TestResealSecrets: after a key rotation the secrets open with the new
// primary key alone, so the old key can be dropped.
func TestResealSecrets(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	ctx := context.Background()
	oldSpec, _ := pii.GenerateKeySpec()
	newSpec, _ := pii.GenerateKeySpec()
	ring := func(spec string) *pii.KeyRing {
		r, err := pii.ParseKeyRing(spec)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before, _ := newService(t, db, ring(oldSpec), fastOptions())
	ep, _, err := before.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://example.com/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := before.RotateSecret(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	n, err := webhook.ResealSecrets(ctx, db, ring(newSpec+","+oldSpec))
	if err != nil || n != 1 {
		t.Fatalf("ResealSecrets = %d, %v", n, err)
	}
	if n, _ := webhook.ResealSecrets(ctx, db, ring(newSpec+","+oldSpec)); n != 0 {
		t.Errorf("a second pass rewrote %d endpoints", n)
	}
	after, _ := newService(t, db, ring(newSpec), fastOptions())
	if _, err := after.RevealSecret(ctx, ep.ID); err != nil {
		t.Errorf("secret does not open with the new key alone: %v", err)
	}
	var row model.WebhookEndpoint
	db.First(&row, ep.ID)
	if _, err := ring(newSpec).Decrypt(row.PrevSecretEnc, []byte(fmt.Sprintf("webhook_endpoints.prev_secret_enc:%d", ep.ID))); err != nil {
		t.Errorf("previous secret not resealed: %v", err)
	}
}
