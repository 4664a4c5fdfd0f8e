package netguard_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/karerehub/karere/internal/netguard"
)

// checkAddr runs the default policy on addr:443. It never dials.
func checkAddr(t *testing.T, g *netguard.Guard, addr string) error {
	t.Helper()
	return g.Check(context.Background(), netip.AddrPortFrom(netip.MustParseAddr(addr), 443))
}

func TestCheckRefusesNonPublic(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		reason string // a word the logged reason must contain
	}{
		{"v4 loopback", "127.0.0.1", "loopback"},
		{"v4 loopback top", "127.255.255.254", "loopback"},
		{"v4 private 10", "10.0.0.1", "private"},
		{"v4 private 10 top", "10.255.255.255", "private"},
		{"v4 private 172.16", "172.16.0.1", "private"},
		{"v4 private 172.31", "172.31.255.255", "private"},
		{"v4 private 192.168", "192.168.1.1", "private"},
		{"v4 link-local", "169.254.0.1", "link-local"},
		{"v4 metadata", "169.254.169.254", "metadata"},
		{"v4 CGNAT bottom", "100.64.0.1", "carrier-grade NAT"},
		{"v4 CGNAT Alibaba metadata", "100.100.100.200", "carrier-grade NAT"},
		{"v4 CGNAT top", "100.127.255.255", "carrier-grade NAT"},
		{"v4 unspecified", "0.0.0.0", "unspecified"},
		{"v4 this network", "0.1.2.3", "this network"},
		{"v4 multicast", "224.0.0.1", "multicast"},
		{"v4 multicast SSDP", "239.255.255.250", "multicast"},
		{"v4 broadcast", "255.255.255.255", "broadcast"},
		{"v4 reserved", "240.0.0.1", "reserved"},
		{"v4 benchmarking", "198.18.0.1", "benchmarking"},
		{"v4 documentation", "192.0.2.1", "documentation"},
		{"v4 IETF assignments", "192.0.0.8", "IETF"},
		{"v6 loopback", "::1", "loopback"},
		{"v6 unspecified", "::", "unspecified"},
		{"v6 link-local", "fe80::1", "link-local"},
		{"v6 link-local with zone", "fe80::1%eth0", "link-local"},
		{"v6 unique local fc", "fc00::1", "unique local"},
		{"v6 unique local fd", "fd12:3456::1", "unique local"},
		{"v6 AWS metadata", "fd00:ec2::254", "metadata"},
		{"v6 multicast all nodes", "ff02::1", "multicast"},
		{"v6 multicast site", "ff05::2", "multicast"},
		{"v6 site-local", "fec0::1", "site-local"},
		{"v6 documentation", "2001:db8::1", "documentation"},
		{"v6 discard", "100::1", "discard"},
		{"v6 IPv4-compatible loopback", "::127.0.0.1", "IPv4-compatible"},
		{"NAT64 of loopback", "64:ff9b::7f00:1", "NAT64 form of 127.0.0.1: loopback"},
		{"NAT64 of metadata", "64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"},
		{"NAT64 of private", "64:ff9b::a00:1", "NAT64 form of 10.0.0.1"},
		{"NAT64 local use", "64:ff9b:1::1", "local-use NAT64"},
		{"6to4 of loopback", "2002:7f00:1::1", "6to4 form of 127.0.0.1"},
		{"6to4 of private", "2002:c0a8:101::1", "6to4 form of 192.168.1.1"},
	}
	var g *netguard.Guard // nil: the default policy
	for _, tt := range tests {
		forms := []string{tt.addr}
		if netip.MustParseAddr(tt.addr).Is4() {
			forms = append(forms, "::ffff:"+tt.addr) // and its IPv4-mapped IPv6 form
		}
		for _, form := range forms {
			t.Run(tt.name+" "+form, func(t *testing.T) {
				err := checkAddr(t, g, form)
				if !errors.Is(err, netguard.ErrRefused) {
					t.Fatalf("Check(%s) = %v, want ErrRefused", form, err)
				}
				var re *netguard.RefusedError
				if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) {
					t.Fatalf("reason = %q, want it to mention %q", re.Reason, tt.reason)
				}
			})
		}
	}
}

func TestCheckAllowsPublic(t *testing.T) {
	tests := []struct {
		name string
		addr string
	}{
		{"Cloudflare v4", "1.1.1.1"},
		{"Google v4", "8.8.8.8"},
		{"just below CGNAT", "100.63.255.255"},
		{"just above CGNAT", "100.128.0.0"},
		{"just below 172.16/12", "172.15.255.255"},
		{"just above 172.16/12", "172.32.0.1"},
		{"just above link-local", "169.255.0.1"},
		{"Cloudflare v6", "2606:4700::1111"},
		{"Google v6", "2001:4860:4860::8888"},
		{"v4-mapped public", "::ffff:1.1.1.1"},
		{"NAT64 of public (DNS64 network)", "64:ff9b::101:101"},
		{"6to4 of public", "2002:101:101::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, g := range []*netguard.Guard{nil, mustNew(t, netguard.Config{})} {
				if err := checkAddr(t, g, tt.addr); err != nil {
					t.Fatalf("Check(%s) = %v, want nil", tt.addr, err)
				}
			}
		})
	}
}

func TestAllowAllPermitsEverything(t *testing.T) {
	g := netguard.AllowAll()
	for _, addr := range []string{"127.0.0.1", "::1", "169.254.169.254", "10.0.0.1", "0.0.0.0"} {
		if err := checkAddr(t, g, addr); err != nil {
			t.Errorf("AllowAll().Check(%s) = %v", addr, err)
		}
	}
	if err := g.CheckHost(context.Background(), "localhost", 6379); err != nil {
		t.Errorf("AllowAll().CheckHost(localhost) = %v", err)
	}
}

func mustNew(t *testing.T, cfg netguard.Config) *netguard.Guard {
	t.Helper()
	g, err := netguard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
