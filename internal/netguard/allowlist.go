package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// AllowList is the operator's list of otherwise refused targets the hub may
// reach, parsed by Parse from KARERE_ALLOWED_PRIVATE_TARGETS. The zero
// value allows nothing.
type AllowList struct {
	prefixes []netip.Prefix   // every port
	exact    []netip.AddrPort // one port
	names    []namePort       // one port on whatever the name resolves to
}

// namePort is a host-name entry: a lower-case name without a trailing dot.
// The name "localhost" (and any name under it) means every loopback
// address and is never resolved.
type namePort struct {
	host string
	port uint16
}

// Parse reads an allow-list: comma-separated entries, each either
//
//	a CIDR prefix        10.20.0.0/16, fd00:1::/64, 192.168.1.7/32   every port
//	an ip:port           10.20.0.5:8443, [fd00:1::5]:443             that port
//	a host:port          pms.surgery.local:8443, localhost:9000      that port
//
// Spaces around entries and empty entries are ignored, so "" is an empty
// list. IPv4-mapped IPv6 forms are stored as IPv4. An error names the
// entry, its position and what to write instead.
func Parse(spec string) (AllowList, error) {
	var a AllowList
	for i, raw := range strings.Split(spec, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		if err := a.add(entry); err != nil {
			return AllowList{}, fmt.Errorf("netguard: allow-list entry %d %q: %w", i+1, entry, err)
		}
	}
	return a, nil
}

// MustParse is Parse for constants and tests: it panics on an error.
func MustParse(spec string) AllowList {
	a, err := Parse(spec)
	if err != nil {
		panic(err)
	}
	return a
}

func (a *AllowList) add(entry string) error {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return errors.New("not a CIDR prefix (want for example 10.20.0.0/16 or fd00:1::/64)")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p != p.Masked() {
			return fmt.Errorf("host bits are set: write %s for the network, or %s/%d for the one address",
				p.Masked(), p.Addr(), p.Addr().BitLen())
		}
		a.prefixes = append(a.prefixes, p)
		return nil
	}
	if ip, err := netip.ParseAddr(entry); err == nil {
		ip = ip.Unmap()
		return fmt.Errorf("no port: write %s for one port, or %s/%d for every port",
			net.JoinHostPort(ip.String(), "PORT"), ip, ip.BitLen())
	}
	host, portText, err := net.SplitHostPort(entry)
	if err != nil {
		return errors.New("want host:port, ip:port (IPv6 in brackets: [fd00::5]:443) or a CIDR prefix")
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", portText)
	}
	if host == "" {
		return errors.New("no host before the port")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return errors.New("addresses with a zone (%eth0) are not supported")
		}
		a.exact = append(a.exact, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
		return nil
	}
	name, err := hostName(host)
	if err != nil {
		return err
	}
	a.names = append(a.names, namePort{host: name, port: uint16(port)})
	return nil
}

// hostName checks that host is a DNS name and returns it in lower case
// without a trailing dot.
func hostName(host string) (string, error) {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		// 127.1 or 2130706433: some resolvers read these as IPv4, others look them up.
		return "", fmt.Errorf("host %q looks like an abbreviated IP address: write it as a.b.c.d", host)
	}
	return name, nil
}

// isLocalhost reports whether name (lower case, no trailing dot) is
// "localhost" or a name under it, which RFC 6761 reserves for loopback.
func isLocalhost(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// String gives the list in Parse's syntax (prefixes, then ip:port, then
// host:port entries), for the log line at start.
func (a AllowList) String() string {
	var parts []string
	for _, p := range a.prefixes {
		parts = append(parts, p.String())
	}
	for _, ap := range a.exact {
		parts = append(parts, ap.String())
	}
	for _, n := range a.names {
		parts = append(parts, net.JoinHostPort(n.host, strconv.Itoa(int(n.port))))
	}
	return strings.Join(parts, ",")
}

// allowsExact reports whether an ip:port entry names addr:port.
func (a AllowList) allowsExact(addr netip.Addr, port uint16) bool {
	for _, ap := range a.exact {
		if ap.Addr() == addr && ap.Port() == port {
			return true
		}
	}
	return false
}

// allowsPrefix reports whether a CIDR entry contains addr.
func (a AllowList) allowsPrefix(addr netip.Addr) bool {
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// hasNameFor reports whether some host:port entry has this port, so that
// resolving the names could allow the address.
func (a AllowList) hasNameFor(port uint16) bool {
	for _, n := range a.names {
		if n.port == port {
			return true
		}
	}
	return false
}
