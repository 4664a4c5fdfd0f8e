package netguard

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

const (
	// DefaultDialTimeout bounds one connection attempt when the caller
	// gives none: generous for a slow PMS across the country, short enough
	// that a black-holed target does not hold a worker for the kernel's
	// connect timeout (about two minutes on Linux).
	DefaultDialTimeout = 10 * time.Second

	// DefaultRequestTimeout bounds a whole HTTP exchange when
	// HTTPClient is given no timeout: a client without one can hang on a
	// server that accepts and never answers.
	DefaultRequestTimeout = 30 * time.Second

	// controlLookupTimeout bounds the resolution of host:port allow-list
	// entries inside Control, which has no context.
	controlLookupTimeout = 5 * time.Second
)

// Control is a net.Dialer Control hook: it refuses, with an error matching
// ErrRefused, a connection to an address Check refuses, and any network
// other than TCP and UDP. The dialer calls it for every address it tries,
// after resolution, so the decision is on the address actually connected
// to. Prefer Dialer, which also passes the dial's context.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), controlLookupTimeout)
	defer cancel()
	return g.control(ctx, network, address)
}

// controlContext is Control for net.Dialer.ControlContext.
func (g *Guard) controlContext(ctx context.Context, network, address string, _ syscall.RawConn) error {
	return g.control(ctx, network, address)
}

func (g *Guard) control(ctx context.Context, network, address string) error {
	if g != nil && g.allowAll {
		return nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return &RefusedError{Reason: "network " + network + " is not TCP or UDP"}
	}
	target, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: "unreadable address " + address}
	}
	return g.Check(ctx, target)
}

// Dialer returns a net.Dialer whose connections pass Control, resolving
// names with the Guard's Resolver when that is a *net.Resolver. timeout
// bounds each connection; 0 means DefaultDialTimeout.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	d := &net.Dialer{Timeout: timeout, ControlContext: g.controlContext}
	if g != nil {
		if r, ok := g.resolver.(*net.Resolver); ok {
			d.Resolver = r
		}
	}
	return d
}

// Transport returns an HTTP transport that dials only through the Guard,
// for every request, redirect hop and pooled connection. It uses no
// proxy: a proxy would connect to the target out of the Guard's sight.
// Otherwise its settings are http.DefaultTransport's.
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(DefaultDialTimeout).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// HTTPClient returns a client on Transport with timeout bounding each
// whole exchange (0 means DefaultRequestTimeout). Redirects are the
// caller's to decide with CheckRedirect (nil follows up to ten, as
// net/http does); whatever it follows is dialled through the Guard, so a
// redirect to a refused target fails with ErrRefused.
func (g *Guard) HTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return &http.Client{Transport: g.Transport(), Timeout: timeout}
}
