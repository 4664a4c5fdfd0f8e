package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies (KARERE_TRUSTED_PROXIES) whose
// X-Forwarded-For header is believed. Behind a proxy every request comes
// from the proxy's address, so without this list sign-in throttling would
// count every client as one; with it, a header from anyone else is
// ignored, so a client cannot pick the address it is counted under.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of CIDRs or single
// addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"); empty means none.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusts reports whether a is one of the proxies.
func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address of the client that sent r: the TCP peer,
// unless the peer is a trusted proxy; then the rightmost address of
// X-Forwarded-For that is not a trusted proxy (each proxy appends the
// address it received the request from, so everything to the left of
// the first untrusted hop may be forged by the client). When every hop
// is trusted it is the leftmost; an entry that is not an IP address ends
// the walk at the hop that wrote it.
func (t TrustedProxies) ClientAddr(r *http.Request) string {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !t.trusts(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		client = a.Unmap()
		if !t.trusts(client) {
			break
		}
	}
	return client.String()
}

// forwardedFor lists the X-Forwarded-For entries of every such header, in
// order.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				hops = append(hops, e)
			}
		}
	}
	return hops
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

type clientAddrKey struct{}

// withClientAddr returns r carrying its client address for ClientIP.
func (t TrustedProxies) withClientAddr(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, t.ClientAddr(r)))
}

// ClientIP is the client address of a request the Server serves (the
// inbox, mounted on it, uses it too): see TrustedProxies.ClientAddr. A
// request that did not pass through the Server gives its TCP peer.
func ClientIP(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return a
	}
	return TrustedProxies(nil).ClientAddr(r)
}
