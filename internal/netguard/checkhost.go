package netguard

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// CheckHost is the save-time check of a target a practice configures (a
// webhook URL's host, an SMTP relay, a provider base URL): it refuses the
// host if any address it resolves to now is refused at port, so that a
// name pointing at loopback is rejected when saved rather than failing at
// every delivery. An IP literal (brackets allowed) is checked as it is;
// "localhost" and names under it are loopback and never resolved.
//
// This is a courtesy to the admin, not the protection: the name may
// resolve differently at dial time, which is why every dial is checked
// again by Control. A name that does not resolve is an error that does
// not match ErrRefused.
func (g *Guard) CheckHost(ctx context.Context, host string, port int) error {
	if g != nil && g.allowAll {
		return nil
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("netguard: port %d is not from 1 to 65535", port)
	}
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if h == "" {
		return errors.New("netguard: empty host")
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(h); err == nil {
		addrs = []netip.Addr{ip}
	} else if name := strings.TrimSuffix(strings.ToLower(h), "."); isLocalhost(name) {
		addrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	} else {
		if g == nil {
			g = &Guard{}
		}
		addrs, err = g.lookup(ctx, h)
		if err != nil {
			return fmt.Errorf("netguard: look up %s: %w", h, err)
		}
		if len(addrs) == 0 {
			return fmt.Errorf("netguard: look up %s: no addresses", h)
		}
	}
	for _, a := range addrs {
		if err := g.Check(ctx, netip.AddrPortFrom(a, uint16(port))); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				re.Host = host
			}
			return err
		}
	}
	return nil
}
