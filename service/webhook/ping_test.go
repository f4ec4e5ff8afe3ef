package webhook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/webhook"
)

// TestPingReachesOneEndpoint: a ping is signed and delivered like any
// event, to the endpoint it was sent to only, whatever its type filter.
func TestPingReachesOneEndpoint(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		target, other := newReceiver(t), newReceiver(t)
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: target.URL(), EventTypes: []string{"verification.verified"}})
		if err != nil {
			t.Fatal(err)
		}
		target.setSecrets(secret)
		if _, _, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: other.URL()}); err != nil {
			t.Fatal(err)
		}
		run(t, s)
		id, err := s.Ping(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the ping delivered", func() bool { return target.count(id) == 1 })
		time.Sleep(300 * time.Millisecond) // a stray fan-out would have reached the other receiver by now
		if n, _ := other.received(); n != 0 {
			t.Errorf("another endpoint received %d events", n)
		}
		target.check()
		var ev model.WebhookEvent
		db.Take(&ev, "id = ?", id)
		if ev.Type != webhook.TypePing || ev.VerificationID != nil {
			t.Errorf("stored %+v", ev)
		}
		if _, err := s.Ping(ctx, 9999); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("ping of no endpoint: %v", err)
		}
		if err := s.DisableEndpoint(ctx, ep.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ping(ctx, ep.ID); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("ping of a disabled endpoint: %v", err)
		}
	})
}

// TestSetAllowPrivate: the per-endpoint private-network switch exists only
// when configuration offers it, and even then opens RFC 1918 and ULA
// addresses, never loopback (a receiver on 127.0.0.1 stays unreached).
func TestSetAllowPrivate(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		opts := fastOptions()
		opts.AllowCIDRs = nil
		ring := testRing(t)
		off, _ := newService(t, db, ring, opts)
		r := newReceiver(t)
		var inv *webhook.InvalidError
		if _, _, err := off.CreateEndpoint(ctx, webhook.EndpointSpec{URL: r.URL(), AllowPrivate: true}); !errors.As(err, &inv) || inv.Code != "private_network_off" {
			t.Fatalf("create with the switch while configuration does not offer it: %v", err)
		}
		ep, secret, err := off.CreateEndpoint(ctx, webhook.EndpointSpec{URL: r.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if err := off.SetAllowPrivate(ctx, ep.ID, true); !errors.As(err, &inv) || inv.Code != "private_network_off" {
			t.Fatalf("switch on while configuration does not offer it: %v", err)
		}
		if err := off.SetAllowPrivate(ctx, ep.ID, false); err != nil {
			t.Fatalf("switching off is always allowed: %v", err)
		}

		opts.PrivateNetworks = true
		s, _ := newService(t, db, ring, opts)
		r.setSecrets(secret)
		run(t, s)
		if err := s.SetAllowPrivate(ctx, ep.ID, true); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Endpoint(ctx, ep.ID); !e.AllowPrivate {
			t.Fatal("not stored")
		}
		refused, err := s.Ping(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the refused attempt", func() bool {
			_, as, err := s.DeliveryAttempts(ctx, firstDelivery(t, db, refused))
			return err == nil && len(as) > 0
		})
		if r.count(refused) != 0 {
			t.Fatal("the private-network switch reached 127.0.0.1")
		}
		if err := s.SetAllowPrivate(ctx, 9999, true); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("unknown endpoint: %v", err)
		}
	})
}

func firstDelivery(t *testing.T, db *gorm.DB, eventID string) int64 {
	t.Helper()
	var d model.WebhookDelivery
	db.Where("event_id = ?", eventID).Take(&d)
	return d.ID
}
