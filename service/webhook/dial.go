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
	return fmt.Sprintf("webhook: destination %s is a loopback, private, link-local, metadata or reserved address; "+
		"a private (RFC 1918, fc00::/7) receiver needs the endpoint's private-network switch, "+
		"anything else an entry in REALNAME_WEBHOOK_ALLOW_CIDRS", e.Addr)
}

// guard decides at dial time, on the address DNS resolved to, so a public
// name that resolves (or is rebound) to an internal address is refused too.
type guard struct {
	rules netRules
	allow []netip.Prefix // REALNAME_WEBHOOK_ALLOW_CIDRS
	// private opens RFC 1918 and ULA addresses: the client of endpoints
	// whose private-network switch is on.
	private bool
}

func newGuard(allow []netip.Prefix, private bool) *guard {
	return &guard{rules: newNetRules(), allow: allow, private: private}
}

// allowed reports whether a connection to a may be opened. The allow list
// opens anything it contains, except that a metadata service needs an
// entry naming exactly its address: a /16 listed for a link-local
// receiver must not hand out the instance's credentials too.
func (g *guard) allowed(a netip.Addr) bool {
	a = a.Unmap()
	t := g.rules.target(a)
	class := g.rules.classify(a)
	for _, p := range g.allow {
		if !p.Contains(a) && !p.Contains(t) {
			continue
		}
		if class != classMetadata || p.IsSingleIP() {
			return true
		}
	}
	switch class {
	case classPublic:
		return true
	case classPrivate:
		return g.private
	default:
		return false
	}
}

// control is the net.Dialer hook: it runs after name resolution, on the
// very address about to be connected (each one Happy Eyeballs tries),
// before any packet is sent.
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

// newClient builds the HTTP client for deliveries. Every client has a
// guard: there is no unguarded client to fall back to.
func newClient(opts Options, g *guard) *http.Client {
	dialer := &net.Dialer{Timeout: min(opts.Timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: g.control}
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
