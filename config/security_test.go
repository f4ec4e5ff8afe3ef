package config

import (
	"strings"
	"testing"
)

// prodEnv is the least a production start needs, plus extra.
func prodEnv(extra ...string) []string {
	return append([]string{"REALNAME_ENV=production", "REALNAME_MASTER_KEY=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"REALNAME_REDIS_URL=redis://127.0.0.1:6379/0", "REALNAME_WECHAT_APPID=wx1", "REALNAME_WECHAT_SECRET=s"}, extra...)
}

// TestWebhookPrivateSwitch: the per-endpoint private-network switch is
// always offered in development, in production only when
// REALNAME_WEBHOOK_ALLOW_PRIVATE says so.
func TestWebhookPrivateSwitch(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{prodEnv(), false},
		{prodEnv("REALNAME_WEBHOOK_ALLOW_PRIVATE=true"), true},
	} {
		cfg, err := Load(tc.env)
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if got := cfg.WebhookPrivateNetworks(); got != tc.want {
			t.Errorf("%v: WebhookPrivateNetworks = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestWebhookAllowCIDRs: the allow list is checked at start, and an entry
// so wide it would switch the guard off is refused.
func TestWebhookAllowCIDRs(t *testing.T) {
	if _, err := Load([]string{"REALNAME_WEBHOOK_ALLOW_CIDRS=10.1.0.0/16, 192.168.5.7,fd00:1::/64,127.0.0.1/32"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"intranet", "0.0.0.0/0", "::/0", "10.0.0.0/33", "0.0.0.0/4"} {
		_, err := Load([]string{"REALNAME_WEBHOOK_ALLOW_CIDRS=" + bad})
		if err == nil || !strings.Contains(err.Error(), "REALNAME_WEBHOOK_ALLOW_CIDRS") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// TestMetricsAddrAndAdminHTTP: the separate metrics listener is checked at
// start; REALNAME_ADMIN_ALLOW_HTTP is read.
func TestMetricsAddrAndAdminHTTP(t *testing.T) {
	cfg, err := Load(prodEnv("REALNAME_METRICS_ADDR=10.0.0.11:9100", "REALNAME_ADMIN_ALLOW_HTTP=true"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "10.0.0.11:9100" || !cfg.Admin.AllowHTTP {
		t.Fatalf("cfg = %q %v", cfg.MetricsAddr, cfg.Admin.AllowHTTP)
	}
	for _, bad := range []string{"9100", ":8080"} {
		if _, err := Load([]string{"REALNAME_METRICS_ADDR=" + bad}); err == nil || !strings.Contains(err.Error(), "REALNAME_METRICS_ADDR") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
