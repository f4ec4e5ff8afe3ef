package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// BlockedError is the dial error for a destination the guard refuses.
type BlockedError struct {
	Addr netip.Addr
}

// Error names the refused address and how to allow it.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("webhook: destination %s is a loopback, private, link-local or reserved address; "+
		"allow it per endpoint (allow_private) or by REALNAME_WEBHOOK_ALLOW_CIDRS", e.Addr)
}

// guard decides at dial time, on the address DNS resolved to, so a public
// name that resolves (or is rebound) to an internal address is refused too.
type guard struct {
	allow    []netip.Prefix
	reserved []netip.Prefix
	// Prefixes whose addresses embed an IPv4 address: NAT64 and 6to4.
	nat64, sixToFour netip.Prefix
}

func newGuard(allow []netip.Prefix) *guard {
	var reserved []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8",          // "this network"
		"100.64.0.0/10",      // carrier-grade NAT, often internal
		"192.0.0.0/24",       // IETF protocol assignments
		"192.0.2.0/24",       // documentation
		"198.18.0.0/15",      // benchmarking
		"198.51.100.0/24",    // documentation
		"203.0.113.0/24",     // documentation
		"240.0.0.0/4",        // reserved, broadcast
		"100::/64",           // discard
		"2001::/32",          // Teredo: hides an IPv4 address
		"2001:db8::/32",      // documentation
		"fec0::/10",          // deprecated site-local
		"64:ff9b:1::/48",     // local-use NAT64
		"::ffff:0:0:0/96",    // IPv4-translated
		"2001:20::/28",       // ORCHIDv2
		"fd00:ec2::254/128",  // AWS metadata over IPv6 (also in fc00::/7)
		"169.254.169.254/32", // cloud metadata (also link-local)
		"::/96",              // IPv4-compatible (deprecated): [::7f00:1] is 127.0.0.1 to some stacks
		"192.88.99.0/24",     // 6to4 relay anycast (deprecated)
		"2001:2::/48",        // benchmarking
		"2001:10::/28",       // ORCHID (deprecated)
		"3fff::/20",          // documentation
		"5f00::/16",          // SRv6 SIDs
	} {
		reserved = append(reserved, netip.MustParsePrefix(p))
	}
	return &guard{allow: allow, reserved: reserved,
		nat64: netip.MustParsePrefix("64:ff9b::/96"), sixToFour: netip.MustParsePrefix("2002::/16")}
}

// allowed reports whether a connection to a may be opened.
func (g *guard) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	// NAT64 and 6to4 addresses carry an IPv4 address that is what the
	// connection actually reaches; judge that one.
	if g.nat64.Contains(a) {
		b := a.As16()
		return g.allowed(netip.AddrFrom4([4]byte(b[12:16])))
	}
	if g.sixToFour.Contains(a) {
		b := a.As16()
		return g.allowed(netip.AddrFrom4([4]byte(b[2:6])))
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range g.reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// control is the net.Dialer hook: it runs after name resolution, on the
// very address about to be connected, before any packet is sent.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dial %q: %w", address, err)
	}
	if !g.allowed(ap.Addr()) {
		return &BlockedError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// newClient builds the HTTP client for deliveries; g nil allows every
// destination.
func newClient(opts Options, g *guard) *http.Client {
	dialer := &net.Dialer{Timeout: min(opts.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if g != nil {
		dialer.Control = g.control
	}
	conns := min(opts.Workers*opts.BatchSize, 512)
	return &http.Client{
		Transport: &http.Transport{
			// No proxy from the environment: the guard would then check the
			// proxy's address instead of the receiver's.
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          conns,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   min(opts.Timeout, 10*time.Second),
			ExpectContinueTimeout: time.Second,
		},
		// A redirect would send the signed event somewhere the admin never
		// configured, possibly inside our network: hand the 3xx back and
		// count it as a failed attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
