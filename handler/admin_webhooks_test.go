package handler

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"realname/model/modeltest"
	"realname/service/pii"
	"realname/service/webhook"
)

// realWebhooks is the webhook service on its own SQLite database, with the
// private-network switch offered or not.
func realWebhooks(t *testing.T, private bool) (*webhook.Service, WebhookAdmin) {
	t.Helper()
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	s, err := webhook.New(db, ring, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), webhook.Options{PrivateNetworks: private})
	if err != nil {
		t.Fatal(err)
	}
	return s, NewWebhookAdmin(s)
}

// TestWebhookPrivateSwitchOff: in production without
// REALNAME_WEBHOOK_ALLOW_PRIVATE the form does not offer the switch and a
// POST setting it anyway is refused, in words, with its code.
func TestWebhookPrivateSwitchOff(t *testing.T) {
	s, hooks := realWebhooks(t, false)
	env := newAdminEnv(t, false, hooks)
	c := env.client(t)
	c.login("root")
	_, body := c.get("/admin/webhooks")
	if strings.Contains(body, `name="allow_private"`) || !strings.Contains(body, `id="private-off"`) {
		t.Fatal("the webhooks page offers the private-network switch though configuration does not")
	}
	resp, body := c.post("/admin/webhooks", url.Values{"url": {"http://10.1.2.3/hook"}, "allow_private": {"1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "private_network_off") {
		t.Fatalf("create with the switch: %d", resp.StatusCode)
	}
	c.post("/admin/webhooks", url.Values{"url": {"http://10.1.2.3/hook"}})
	eps, err := s.Endpoints(context.Background())
	if err != nil || len(eps) != 1 || eps[0].AllowPrivate {
		t.Fatalf("endpoints = %+v, %v", eps, err)
	}
	resp, body = c.post("/admin/webhooks/1/network", url.Values{"allow_private": {"1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "private_network_off") {
		t.Fatalf("switch on: %d", resp.StatusCode)
	}
	if e, _ := s.Endpoint(context.Background(), 1); e.AllowPrivate {
		t.Fatal("the switch was stored")
	}
	if resp, _ := c.post("/admin/webhooks/99/network", url.Values{"allow_private": {"0"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown endpoint: %d, want 404", resp.StatusCode)
	}
}

// TestUnknownDeliveryPage: a delivery id nobody has is a 404 page, not an
// internal error.
func TestUnknownDeliveryPage(t *testing.T) {
	_, hooks := realWebhooks(t, true)
	env := newAdminEnv(t, false, hooks)
	c := env.client(t)
	c.login("root")
	for _, path := range []string{"/admin/webhooks/deliveries/424242", "/admin/webhooks/deliveries/x"} {
		if resp, body := c.get(path); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "internal") {
			t.Errorf("GET %s: %d, want the 404 page", path, resp.StatusCode)
		}
	}
	if resp, _ := c.post("/admin/webhooks/deliveries/424242/replay", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("replay of an unknown delivery: %d, want 404", resp.StatusCode)
	}
}
