package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Config is what a Guard is built from, once, at start.
type Config struct {
	// Allow lists the otherwise refused targets this deployment may reach:
	// Parse(KARERE_ALLOWED_PRIVATE_TARGETS).
	Allow AllowList

	// Listeners are the hub's own listening addresses (API, SMTP, metrics)
	// as host:port. Pass the bound address (ln.Addr().String()) when the
	// configured port is 0. An unspecified host (":8080", "0.0.0.0:8080",
	// "[::]:8080") or a host name refuses the port on every local address.
	Listeners []string

	// Resolver resolves names for CheckHost, for Dialer and for host:port
	// allow-list entries. Nil means net.DefaultResolver.
	Resolver Resolver
}

// Resolver resolves a host name to IP addresses; *net.Resolver is one.
type Resolver interface {
	// LookupNetIP returns the addresses of host; network is "ip", "ip4"
	// or "ip6". An error or an empty answer means the name does not resolve.
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard decides which addresses the hub may connect to on a practice's
// behalf. A nil *Guard applies the default policy; AllowAll returns one
// that permits everything. See the package documentation.
type Guard struct {
	allowAll   bool
	allow      AllowList
	ownExact   []netip.AddrPort // listeners on one address
	ownAnyPort []uint16         // listeners on every local address
	listeners  []string         // as configured, for String
	resolver   Resolver
}

// New returns a Guard for cfg, or an error naming a listener address it
// cannot read.
func New(cfg Config) (*Guard, error) {
	g := &Guard{allow: cfg.Allow, resolver: cfg.Resolver, listeners: slices.Clone(cfg.Listeners)}
	for _, l := range cfg.Listeners {
		host, portText, err := net.SplitHostPort(l)
		if err != nil {
			return nil, fmt.Errorf("netguard: listener %q: want host:port or :port", l)
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("netguard: listener %q: port %q is not a number", l, portText)
		}
		if port == 0 {
			return nil, fmt.Errorf("netguard: listener %q: port 0; pass the bound address (ln.Addr().String())", l)
		}
		ip, err := netip.ParseAddr(host)
		if err == nil && !ip.IsUnspecified() {
			g.ownExact = append(g.ownExact, netip.AddrPortFrom(ip.Unmap().WithZone(""), uint16(port)))
			continue
		}
		// "", 0.0.0.0, :: or a name: the port on every local address.
		g.ownAnyPort = append(g.ownAnyPort, uint16(port))
	}
	return g, nil
}

// AllowAll returns a Guard that permits every target: for "hubd dev" and
// for tests against fake servers on loopback. Never use it in production.
func AllowAll() *Guard { return &Guard{allowAll: true} }

// String describes the policy for the log line at start.
func (g *Guard) String() string {
	switch {
	case g == nil:
		return "default policy"
	case g.allowAll:
		return "allow all (no target policy)"
	}
	return fmt.Sprintf("default policy; allowed: [%s]; own listeners: [%s]",
		g.allow, strings.Join(g.listeners, ","))
}

// Check decides whether the hub may connect to target, returning nil or a
// *RefusedError that matches ErrRefused. In order: an exact ip:port
// allow-list entry allows; the hub's own listeners are refused; a CIDR
// entry allows; a non-public address (see the package documentation) is
// refused unless a host:port entry for its port resolves to it; anything
// else is allowed. ctx bounds the resolution of host:port entries, which
// happens only in that last case.
func (g *Guard) Check(ctx context.Context, target netip.AddrPort) error {
	if g == nil {
		g = &Guard{}
	}
	if g.allowAll {
		return nil
	}
	addr, port := target.Addr().Unmap().WithZone(""), target.Port()
	switch {
	case !addr.IsValid():
		return &RefusedError{Addr: target, Reason: "not an IP address"}
	case port == 0:
		return &RefusedError{Addr: target, Reason: "port 0"}
	case g.allow.allowsExact(addr, port):
		return nil
	}
	if why := g.ownListener(addr, port); why != "" {
		return g.unlessNamed(ctx, target, addr, why)
	}
	if g.allow.allowsPrefix(addr) {
		return nil
	}
	if why := nonPublic(addr); why != "" {
		return g.unlessNamed(ctx, target, addr, why)
	}
	return nil
}

// ownListener says why addr:port is one of the hub's own listeners, or
// returns "".
func (g *Guard) ownListener(addr netip.Addr, port uint16) string {
	if slices.Contains(g.ownExact, netip.AddrPortFrom(addr, port)) {
		return "the hub's own listener"
	}
	if !slices.Contains(g.ownAnyPort, port) {
		return ""
	}
	local, err := isLocal(addr)
	switch {
	case err != nil:
		return "cannot list local addresses to rule out the hub's own listener: " + err.Error()
	case local:
		return "the hub's own listener (unspecified address)"
	}
	return ""
}

// isLocal reports whether addr is an address of this host: loopback,
// unspecified (which connects to this host) or an interface address. It
// asks the kernel each time, so addresses gained since start count.
func isLocal(addr netip.Addr) (bool, error) {
	if addr.IsLoopback() || addr.IsUnspecified() {
		return true, nil
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, err
	}
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr {
				return true, nil
			}
		}
	}
	return false, nil
}

// unlessNamed refuses target for why, unless a host:port allow-list entry
// for its port resolves to addr now. A failed lookup refuses.
func (g *Guard) unlessNamed(ctx context.Context, target netip.AddrPort, addr netip.Addr, why string) error {
	if !g.allow.hasNameFor(target.Port()) {
		return &RefusedError{Addr: target, Reason: why}
	}
	for _, n := range g.allow.names {
		if n.port != target.Port() {
			continue
		}
		if isLocalhost(n.host) {
			if addr.IsLoopback() {
				return nil
			}
			continue
		}
		ips, err := g.lookup(ctx, n.host)
		if err != nil {
			why += "; allow-list entry " + n.host + " did not resolve: " + err.Error()
			continue
		}
		for _, ip := range ips {
			if ip.Unmap().WithZone("") == addr {
				return nil
			}
		}
	}
	return &RefusedError{Addr: target, Reason: why}
}

func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	r := g.resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}
