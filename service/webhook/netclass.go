package webhook

import "net/netip"

// netClass is what kind of network an address belongs to, as the guard
// judges it.
type netClass int

const (
	// classPublic is reachable on the internet: always allowed.
	classPublic netClass = iota
	// classPrivate is RFC 1918 or IPv6 ULA (fc00::/7): a receiver on the
	// company's own network, allowed for an endpoint with the private switch.
	classPrivate
	// classSpecial is everything that is neither: loopback, link-local,
	// multicast, unspecified, CGNAT, documentation, benchmarking, reserved.
	// Reaching it is how an SSRF reads the host's own services, so only an
	// explicit REALNAME_WEBHOOK_ALLOW_CIDRS entry opens it.
	classSpecial
	// classMetadata is a cloud instance's metadata service, which hands out
	// credentials: opened only by an allow-list entry naming that one host.
	classMetadata
)

// netRules holds the ranges the classifier knows; built once per guard
// (no package state).
type netRules struct {
	special  []netip.Prefix // reserved ranges netip's predicates do not name
	metadata []netip.Addr
	// Prefixes whose addresses embed the IPv4 address the packets reach.
	nat64, sixToFour netip.Prefix
}

func newNetRules() netRules {
	return netRules{special: mustPrefixes(
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT, often a cloud's internal services
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"100::/64",        // discard
		"2001::/32",       // Teredo: hides an IPv4 address
		"2001:2::/48",     // benchmarking
		"2001:10::/28",    // ORCHID (deprecated)
		"2001:20::/28",    // ORCHIDv2
		"2001:db8::/32",   // documentation
		"3fff::/20",       // documentation
		"5f00::/16",       // SRv6 SIDs
		"fec0::/10",       // deprecated site-local
		"64:ff9b:1::/48",  // local-use NAT64
		"::ffff:0:0:0/96", // IPv4-translated
		"::/96",           // IPv4-compatible (deprecated): [::7f00:1] is 127.0.0.1 to some stacks
	),
		// The cloud metadata services (AWS, GCP, Azure, Tencent Cloud, Aliyun,
		// Oracle); most also fall in a special range, fd00:ec2::254 in the
		// private fc00::/7 and 168.63.129.16 in public space.
		metadata: []netip.Addr{
			netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure IMDS, Huawei, OpenStack
			netip.MustParseAddr("169.254.170.2"),   // AWS ECS task credentials
			netip.MustParseAddr("169.254.0.23"),    // Tencent Cloud (metadata.tencentyun.com)
			netip.MustParseAddr("100.100.100.200"), // Aliyun
			netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
			netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud
			netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
		},
		nat64:     netip.MustParsePrefix("64:ff9b::/96"),
		sixToFour: netip.MustParsePrefix("2002::/16"),
	}
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// embedded is the IPv4 address a NAT64 or 6to4 address carries, which is
// what the connection reaches and so what must be judged.
func (n *netRules) embedded(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case n.nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case n.sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// target is the address a connection to a really reaches: IPv4-mapped
// forms unmapped, NAT64 and 6to4 forms reduced to their IPv4 address.
func (n *netRules) target(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if v4, ok := n.embedded(a); ok {
		return v4
	}
	return a
}

// classify names the network a connection to a reaches.
func (n *netRules) classify(a netip.Addr) netClass {
	a = n.target(a)
	for _, m := range n.metadata {
		if a == m {
			return classMetadata
		}
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return classSpecial
	}
	for _, p := range n.special {
		if p.Contains(a) {
			return classSpecial
		}
	}
	if a.IsPrivate() {
		return classPrivate
	}
	return classPublic
}
