package webhook

import (
	"net/netip"
	"testing"
	"time"
)

// TestGuard judges addresses with the endpoint's private-network switch
// off (strict) and on (private); the allow list holds 10.20.0.0/16,
// 169.254.0.0/16 (a link-local receiver) and fd00:1::7.
func TestGuard(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("fd00:1::7/128")}
	strict, private := newGuard(allow, false), newGuard(allow, true)
	for _, tc := range []struct {
		addr            string
		strict, private bool
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		// RFC 1918 and ULA: the switch opens them.
		{"10.0.0.1", false, true},
		{"172.16.5.5", false, true},
		{"172.31.255.255", false, true},
		{"192.168.1.1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", false, true},
		{"::ffff:10.0.0.1", false, true}, // IPv4-mapped private
		{"64:ff9b::a00:1", false, true},  // NAT64 of 10.0.0.1
		{"10.20.3.4", true, true},        // allow list
		{"fd00:1::7", true, true},        // allow list, one host
		{"169.254.1.1", true, true},      // allow list opens link-local
		// Loopback, link-local, metadata and the special ranges: never,
		// switch or not.
		{"127.0.0.1", false, false},
		{"127.9.9.9", false, false},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"169.254.169.254", false, false}, // metadata: a /16 in the allow list does not open it
		{"::ffff:169.254.169.254", false, false},
		{"169.254.170.2", false, false},   // AWS ECS credentials
		{"169.254.0.23", false, false},    // Tencent Cloud metadata
		{"100.100.100.200", false, false}, // Aliyun metadata
		{"168.63.129.16", false, false},   // Azure WireServer, a public address
		{"fd00:ec2::254", false, false},   // AWS metadata over IPv6, inside fc00::/7
		{"fe80::1", false, false},
		{"fe80::1%eth0", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"100.64.0.1", false, false}, // CGNAT
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"192.0.2.1", false, false},           // documentation
		{"198.18.0.1", false, false},          // benchmarking
		{"64:ff9b::a9fe:a9fe", false, false},  // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", false, false},     // NAT64 of 127.0.0.1
		{"64:ff9b::5db8:d822", true, true},    // NAT64 of a public address
		{"2002:7f00:1::", false, false},       // 6to4 of 127.0.0.1
		{"2002:a00:1::", false, true},         // 6to4 of 10.0.0.1
		{"::7f00:1", false, false},            // IPv4-compatible 127.0.0.1
		{"::a9fe:a9fe", false, false},         // IPv4-compatible metadata address
		{"::5db8:d822", false, false},         // IPv4-compatible, even of a public address (deprecated form)
		{"3fff::1", false, false},             // documentation
		{"2001:db8::1", false, false},         // documentation
		{"2001:2::1", false, false},           // benchmarking
		{"2001:0:4136:e378::1", false, false}, // Teredo
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := strict.allowed(a); got != tc.strict {
			t.Errorf("strict allowed(%s) = %v, want %v", tc.addr, got, tc.strict)
		}
		if got := private.allowed(a); got != tc.private {
			t.Errorf("private allowed(%s) = %v, want %v", tc.addr, got, tc.private)
		}
	}
	// A metadata address opens only by an entry naming that very host.
	exact := newGuard([]netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}, false)
	if !exact.allowed(netip.MustParseAddr("169.254.169.254")) || exact.allowed(netip.MustParseAddr("169.254.169.253")) {
		t.Error("an allow-list entry naming the metadata host must open it, and only it")
	}
}

// FuzzGuard holds the guard's promises for any address: the switch only
// ever adds RFC 1918/ULA, an IPv4-mapped form is judged as its IPv4
// address, and loopback, link-local, metadata and unspecified addresses
// are refused with or without it.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:169.254.169.254", "10.1.2.3", "fd00:ec2::254", "64:ff9b::7f00:1", "2002:a9fe:a9fe::", "93.184.216.34", "::"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	strict, private := newGuard(nil, false), newGuard(nil, true)
	rules := newNetRules()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) != 4 && len(raw) != 16 {
			return
		}
		a, _ := netip.AddrFromSlice(raw)
		s, p := strict.allowed(a), private.allowed(a)
		if s && !p {
			t.Fatalf("%s: allowed strictly but not with the switch", a)
		}
		if p && !s && rules.classify(a) != classPrivate {
			t.Fatalf("%s: the switch opened a %v address", a, rules.classify(a))
		}
		if a.Is4() {
			m := netip.AddrFrom16(a.As16())
			if strict.allowed(m) != s || private.allowed(m) != p {
				t.Fatalf("%s and its IPv4-mapped form %s are judged differently", a, m)
			}
		}
		tg := rules.target(a)
		if p && (tg.IsLoopback() || tg.IsLinkLocalUnicast() || tg.IsUnspecified() || tg.IsMulticast() || rules.classify(a) == classMetadata) {
			t.Fatalf("%s (reaching %s) allowed", a, tg)
		}
	})
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
