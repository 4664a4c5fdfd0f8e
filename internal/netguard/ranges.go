package netguard

import "net/netip"

// special is a block of addresses that is not a public Internet
// destination, with the reason given in logs when it is refused.
type special struct {
	prefix netip.Prefix
	reason string
}

// specials are refused unless allow-listed. Where blocks overlap the more
// specific comes first, so that its reason is the one reported.
//
// 100.64.0.0/10 (RFC 6598 shared address space) is refused although it is
// not private in the RFC 1918 sense: it is never a destination on the
// public Internet, and inside a cloud or carrier network it numbers
// internal infrastructure (Alibaba Cloud's metadata service is
// 100.100.100.200; overlay networks such as Tailscale number their nodes
// from it).
var specials = []special{
	// IPv4 (IPv4-mapped IPv6 is unmapped before it gets here).
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address"},
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (RFC 791)`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (RFC 6598, carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.169.254/32"), "link-local: cloud metadata service"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (RFC 6890)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (deprecated, RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112)"},

	// IPv6.
	{netip.MustParsePrefix("::/128"), "unspecified address"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 (deprecated, RFC 4291)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (RFC 6666)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (RFC 9637)"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "unique local: cloud metadata service"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private, RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated, RFC 3879)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// IPv6 forms that carry an IPv4 address a gateway or relay would connect
// to: judged by that address. Teredo (2001::/32) is left alone: its client
// address is obfuscated, it needs a Teredo relay on the path, and the
// servers it names are public by design.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: IPv4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 in bits 16-47
)

// nonPublic says why addr is not a public Internet destination, or returns
// "" when it is one. addr must be unmapped and carry no zone (a zoned
// address never matches a prefix).
func nonPublic(addr netip.Addr) string {
	for _, s := range specials {
		if s.prefix.Contains(addr) {
			return s.reason
		}
	}
	if addr.Is6() {
		b := addr.As16()
		var kind string
		var v4 netip.Addr
		switch {
		case nat64.Contains(addr):
			kind, v4 = "NAT64", netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(addr):
			kind, v4 = "6to4", netip.AddrFrom4([4]byte(b[2:6]))
		}
		if kind != "" {
			if why := nonPublic(v4); why != "" {
				return kind + " form of " + v4.String() + ": " + why
			}
		}
	}
	// A safety net for anything the table misses.
	if !addr.IsGlobalUnicast() {
		return "not a global unicast address"
	}
	return ""
}
