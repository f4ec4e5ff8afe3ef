package webhook

import (
	"net/netip"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	g := newGuard([]netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")})
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"127.9.9.9", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"10.20.3.4", true}, // allow list
		{"172.16.5.5", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.1.1", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd00:ec2::254", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},    // IPv4-mapped loopback
		{"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
		{"64:ff9b::5db8:d822", true},   // NAT64 of a public address
		{"2002:7f00:1::", false},       // 6to4 of 127.0.0.1
		{"::7f00:1", false},            // IPv4-compatible 127.0.0.1
		{"::a9fe:a9fe", false},         // IPv4-compatible metadata address
		{"::5db8:d822", false},         // IPv4-compatible, even of a public address (deprecated form)
		{"3fff::1", false},             // documentation
		{"2001:2::1", false},           // benchmarking
		{"2001:0:4136:e378::1", false}, // Teredo
	} {
		if got := g.allowed(netip.MustParseAddr(tc.addr)); got != tc.ok {
			t.Errorf("allowed(%s) = %v, want %v", tc.addr, got, tc.ok)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"soon", 0},
		{"Wed, 01 Jan 2025 00:10:00 GMT", 10 * time.Minute},
		{"Tue, 31 Dec 2024 23:00:00 GMT", 0}, // in the past
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetrySchedule(t *testing.T) {
	s := &Service{opts: Options{Schedule: []time.Duration{time.Second, time.Minute}, MaxRetryAfter: time.Hour}}
	for _, tc := range []struct {
		attempt    int
		retryAfter time.Duration
		min, max   time.Duration
		ok         bool
	}{
		{1, 0, time.Second, 1100 * time.Millisecond, true},
		{2, 0, time.Minute, 66 * time.Second, true},
		{2, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, true},        // Retry-After lengthens
		{1, 10 * time.Millisecond, time.Second, 1100 * time.Millisecond, true}, // but never shortens
		{1, 48 * time.Hour, time.Hour, time.Hour, true},                        // capped
		{3, 0, 0, 0, false}, // schedule used up
	} {
		got, ok := s.retryIn(tc.attempt, tc.retryAfter)
		if ok != tc.ok || got < tc.min || got > tc.max {
			t.Errorf("retryIn(%d, %v) = %v, %v; want %v..%v, %v", tc.attempt, tc.retryAfter, got, ok, tc.min, tc.max, tc.ok)
		}
	}
}

func TestOptions(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Schedule) != 7 || o.Lease < 2*o.Timeout || o.DisableAfter != 5*24*time.Hour {
		t.Errorf("defaults = %+v", o)
	}
	if _, err := (Options{Timeout: 10 * time.Second, Lease: 15 * time.Second}).withDefaults(); err == nil {
		t.Error("a lease shorter than twice the timeout was accepted")
	}
	if _, err := ParseSchedule([]string{"5s", "0s"}); err == nil {
		t.Error("a zero schedule entry was accepted")
	}
	p, err := ParseCIDRs([]string{"10.0.0.0/8", "192.168.1.7", "fd00::/8"})
	if err != nil || len(p) != 3 || p[1].Bits() != 32 {
		t.Errorf("ParseCIDRs = %v, %v", p, err)
	}
	if _, err := ParseCIDRs([]string{"intranet"}); err == nil {
		t.Error("a name was accepted as a CIDR")
	}
}

func TestSubscribed(t *testing.T) {
	for _, tc := range []struct {
		stored, typ string
		want        bool
	}{
		{"", "verification.verified", true},
		{"verification.verified", "verification.verified", true},
		{"verification.verified", "verification.rejected", false},
		{"verification.*", "verification.rejected", true},
		{"verification.*", "user.data_erased", false},
		{"user.data_erased,verification.verified", "user.data_erased", true},
	} {
		if got := subscribed(tc.stored, tc.typ); got != tc.want {
			t.Errorf("subscribed(%q, %q) = %v", tc.stored, tc.typ, got)
		}
	}
	if _, err := normalizeTypes([]string{"verification.verifed"}); err == nil {
		t.Error("a misspelt type was accepted")
	}
	if got, err := normalizeTypes([]string{" verification.* ", "user.data_erased", "verification.*"}); err != nil || len(got) != 2 {
		t.Errorf("normalizeTypes = %v, %v", got, err)
	}
}
