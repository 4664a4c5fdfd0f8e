package netguard_test

import (
	"context"
	"errors"
	"testing"

	"github.com/karerehub/karere/internal/netguard"
)

func TestCheckHost(t *testing.T) {
	dns := startFakeDNS(t, map[string][]string{
		"public.test":   {"1.1.1.1", "2606:4700::1111"},
		"loopback.test": {"127.0.0.1"},
		"loop6.test":    {"::1"},
		"mixed.test":    {"1.1.1.1", "127.0.0.1"},
		"mixed6.test":   {"1.1.1.1", "fd00::1"},
		"metadata.test": {"169.254.169.254"},
		"mapped.test":   {"::ffff:10.0.0.1"},
		"pms.test":      {"10.1.2.3"},
	})
	tests := []struct {
		name    string
		allow   string
		host    string
		port    int
		refused bool
		failed  bool // an error that is not a refusal
	}{
		{"public name", "", "public.test", 443, false, false},
		{"name resolving to loopback", "", "loopback.test", 443, true, false},
		{"name resolving to ::1", "", "loop6.test", 443, true, false},
		{"one of several addresses is loopback", "", "mixed.test", 443, true, false},
		{"one of several addresses is unique local", "", "mixed6.test", 443, true, false},
		{"name resolving to metadata", "", "metadata.test", 80, true, false},
		{"name resolving to v4-mapped private", "", "mapped.test", 80, true, false},
		{"private name allowed by CIDR", "10.0.0.0/8", "pms.test", 8443, false, false},
		{"private name allowed by host:port", "pms.test:8443", "pms.test", 8443, false, false},
		{"private name, other port", "pms.test:8443", "pms.test", 8444, true, false},
		{"trailing dot", "", "loopback.test.", 443, true, false},
		{"localhost", "", "localhost", 6379, true, false},
		{"LOCALHOST.", "", "LOCALHOST.", 6379, true, false},
		{"name under localhost", "", "redis.localhost", 6379, true, false},
		{"localhost when only 127/8 is allowed (::1 is not)", "127.0.0.0/8", "localhost", 6379, true, false},
		{"localhost allowed by localhost:port", "localhost:6379", "localhost", 6379, false, false},
		{"v4 literal loopback", "", "127.0.0.1", 6379, true, false},
		{"v6 literal loopback in brackets", "", "[::1]", 6379, true, false},
		{"v4-mapped literal loopback", "", "::ffff:127.0.0.1", 6379, true, false},
		{"v4 literal metadata", "", "169.254.169.254", 80, true, false},
		{"public literal", "", "1.1.1.1", 443, false, false},
		{"public v6 literal", "", "2606:4700::1111", 443, false, false},
		{"name that does not resolve", "", "nxdomain.test", 443, false, true},
		{"port 0", "", "public.test", 0, false, true},
		{"port too big", "", "public.test", 65536, false, true},
		{"empty host", "", "", 443, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustNew(t, netguard.Config{Allow: netguard.MustParse(tt.allow), Resolver: dns.Resolver()})
			err := g.CheckHost(context.Background(), tt.host, tt.port)
			switch {
			case tt.refused:
				if !errors.Is(err, netguard.ErrRefused) {
					t.Fatalf("CheckHost(%q, %d) = %v, want ErrRefused", tt.host, tt.port, err)
				}
				var re *netguard.RefusedError
				if !errors.As(err, &re) || re.Host != tt.host || re.Reason == "" {
					t.Fatalf("refusal %#v does not name the host and a reason", re)
				}
			case tt.failed:
				if err == nil || errors.Is(err, netguard.ErrRefused) {
					t.Fatalf("CheckHost(%q, %d) = %v, want a non-refusal error", tt.host, tt.port, err)
				}
			case err != nil:
				t.Fatalf("CheckHost(%q, %d) = %v, want nil", tt.host, tt.port, err)
			}
		})
	}
	for _, name := range []string{"localhost", "redis.localhost"} {
		if n := dns.Queries(name); n != 0 {
			t.Errorf("%s was looked up %d times; it must never be resolved", name, n)
		}
	}
	if dns.Queries("loopback.test") == 0 {
		t.Error("the fake DNS server was never asked; the test proves nothing")
	}
}
