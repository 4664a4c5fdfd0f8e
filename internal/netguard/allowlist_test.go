package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/karerehub/karere/internal/netguard"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want string // String() of the result
	}{
		{"empty", "", ""},
		{"only spaces and commas", " , ,", ""},
		{"v4 CIDR", "10.20.0.0/16", "10.20.0.0/16"},
		{"v6 CIDR", "fd00:1::/64", "fd00:1::/64"},
		{"one address as /32", "192.168.1.7/32", "192.168.1.7/32"},
		{"v4-mapped CIDR becomes v4", "::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"ip:port", "10.20.0.5:8443", "10.20.0.5:8443"},
		{"[v6]:port", "[fd00:1::5]:443", "[fd00:1::5]:443"},
		{"v4-mapped ip:port becomes v4", "[::ffff:10.0.0.5]:80", "10.0.0.5:80"},
		{"host:port lower-cased, dot dropped", "PMS.Surgery.Local.:8443", "pms.surgery.local:8443"},
		{"localhost:port", "localhost:9000", "localhost:9000"},
		{"mixed with spaces", " 10.0.0.0/8 , pms.local:443,[::1]:80 ", "10.0.0.0/8,[::1]:80,pms.local:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := netguard.Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got := a.String(); got != tt.want {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseErrorsNameTheEntry(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string // all must appear in the error
	}{
		{"bare v4 address", "10.0.0.0/8,10.0.0.5", []string{`entry 2 "10.0.0.5"`, "no port", "10.0.0.5:PORT", "10.0.0.5/32"}},
		{"bare v6 address", "fd00::5", []string{`entry 1 "fd00::5"`, "[fd00::5]:PORT", "fd00::5/128"}},
		{"host bits set", "10.0.0.5/8", []string{`"10.0.0.5/8"`, "10.0.0.0/8", "10.0.0.5/32"}},
		{"bad prefix length", "10.0.0.0/33", []string{`"10.0.0.0/33"`, "not a CIDR prefix"}},
		{"garbage prefix", "tenet/8", []string{`"tenet/8"`, "not a CIDR prefix"}},
		{"port zero", "pms.local:0", []string{`"pms.local:0"`, "1 to 65535"}},
		{"port too big", "10.0.0.5:70000", []string{`"10.0.0.5:70000"`, "1 to 65535"}},
		{"port by name", "10.0.0.5:https", []string{`"10.0.0.5:https"`, `port "https"`}},
		{"unbracketed v6 with port", "fd00::5:443x", []string{`"fd00::5:443x"`, "[fd00::5]:443"}},
		{"bare host name", "pms.local", []string{`"pms.local"`, "want host:port"}},
		{"no host", ":8443", []string{`":8443"`, "no host"}},
		{"bad host name", "pms_/x:80", []string{`"pms_/x:80"`}},
		{"underscore-free bad label", "-pms.local:80", []string{`"-pms.local:80"`, "neither an IP address nor a DNS name"}},
		{"abbreviated IPv4", "127.1:80", []string{`"127.1:80"`, "abbreviated IP address"}},
		{"decimal IPv4", "2130706433:80", []string{`"2130706433:80"`, "abbreviated IP address"}},
		{"zone", "[fe80::1%eth0]:80", []string{`"[fe80::1%eth0]:80"`, "zone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := netguard.Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.spec)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) error %q does not contain %q", tt.spec, err, w)
				}
			}
		})
	}
}

func TestAllowListAndOwnListeners(t *testing.T) {
	dns := startFakeDNS(t, map[string][]string{
		"pms.surgery.test": {"10.1.2.3", "fd00:1::3"},
	})
	tests := []struct {
		name      string
		allow     string
		listeners []string
		target    string
		refused   bool
	}{
		{"CIDR allows any port", "10.20.0.0/16", nil, "10.20.1.5:8443", false},
		{"CIDR allows another port", "10.20.0.0/16", nil, "10.20.1.5:25", false},
		{"CIDR does not reach outside", "10.20.0.0/16", nil, "10.21.0.1:443", true},
		{"CIDR matches v4-mapped target", "10.20.0.0/16", nil, "[::ffff:10.20.1.5]:443", false},
		{"v6 CIDR", "fd00:1::/64", nil, "[fd00:1::5]:443", false},
		{"v6 CIDR does not reach outside", "fd00:1::/64", nil, "[fd00:2::5]:443", true},
		{"exact ip:port", "10.20.0.5:8443", nil, "10.20.0.5:8443", false},
		{"exact ip:port, other port", "10.20.0.5:8443", nil, "10.20.0.5:8444", true},
		{"exact ip:port, other address", "10.20.0.5:8443", nil, "10.20.0.6:8443", true},
		{"host:port resolves to target", "pms.surgery.test:8443", nil, "10.1.2.3:8443", false},
		{"host:port resolves to v6 target", "pms.surgery.test:8443", nil, "[fd00:1::3]:8443", false},
		{"host:port, other port", "pms.surgery.test:8443", nil, "10.1.2.3:8444", true},
		{"host:port, other address", "pms.surgery.test:8443", nil, "10.1.2.4:8443", true},
		{"host:port that does not resolve", "gone.surgery.test:8443", nil, "10.1.2.3:8443", true},
		{"localhost:port allows loopback", "localhost:9000", nil, "127.0.0.1:9000", false},
		{"localhost:port allows ::1", "localhost:9000", nil, "[::1]:9000", false},
		{"localhost:port, other port", "localhost:9000", nil, "127.0.0.1:9001", true},
		{"metadata stays refused under an unrelated entry", "10.0.0.0/8", nil, "169.254.169.254:80", true},

		{"own listener refused under CIDR", "127.0.0.0/8", []string{"127.0.0.1:8080"}, "127.0.0.1:8080", true},
		{"own listener, other port allowed", "127.0.0.0/8", []string{"127.0.0.1:8080"}, "127.0.0.1:8081", false},
		{"own listener allowed by exact entry", "127.0.0.0/8,127.0.0.1:8080", []string{"127.0.0.1:8080"}, "127.0.0.1:8080", false},
		{"own listener allowed by localhost entry", "localhost:8080", []string{"127.0.0.1:8080"}, "127.0.0.1:8080", false},
		{"own listener on public address", "", []string{"203.0.114.9:2525"}, "203.0.114.9:2525", true},
		{"own listener public, other port", "", []string{"203.0.114.9:2525"}, "203.0.114.9:25", false},
		{"own listener v4-mapped target", "127.0.0.0/8", []string{"127.0.0.1:8080"}, "[::ffff:127.0.0.1]:8080", true},
		{"unspecified listener refuses port on loopback", "127.0.0.0/8", []string{":2525"}, "127.0.0.1:2525", true},
		{"unspecified listener refuses port on all of 127/8", "127.0.0.0/8", []string{"0.0.0.0:2525"}, "127.3.2.1:2525", true},
		{"v6 unspecified listener refuses v4 loopback", "127.0.0.0/8", []string{"[::]:2525"}, "127.0.0.1:2525", true},
		{"unspecified listener, other port", "127.0.0.0/8", []string{":2525"}, "127.0.0.1:2526", false},
		{"unspecified listener, remote address", "", []string{":443"}, "1.1.1.1:443", false},
		{"named listener refuses port on loopback", "127.0.0.0/8", []string{"hub.internal:8080"}, "127.0.0.1:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustNew(t, netguard.Config{
				Allow:     netguard.MustParse(tt.allow),
				Listeners: tt.listeners,
				Resolver:  dns.Resolver(),
			})
			err := g.Check(context.Background(), netip.MustParseAddrPort(tt.target))
			if tt.refused != errors.Is(err, netguard.ErrRefused) {
				t.Fatalf("Check(%s) = %v, want refused=%v", tt.target, err, tt.refused)
			}
			if err != nil && !tt.refused {
				t.Fatalf("Check(%s) = %v", tt.target, err)
			}
		})
	}
}

// A listener on an unspecified address is reachable on every interface
// address, not only loopback: those are refused at its port even when
// everything is allow-listed by CIDR.
func TestUnspecifiedListenerRefusesInterfaceAddresses(t *testing.T) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var local []netip.Addr
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && !ip.Unmap().IsLoopback() {
				local = append(local, ip.Unmap())
			}
		}
	}
	if len(local) == 0 {
		t.Skip("no non-loopback interface address")
	}
	g := mustNew(t, netguard.Config{
		Allow:     netguard.MustParse("0.0.0.0/0,::/0"),
		Listeners: []string{"[::]:8080"},
	})
	for _, ip := range local {
		t.Run(ip.String(), func(t *testing.T) {
			err := g.Check(context.Background(), netip.AddrPortFrom(ip, 8080))
			if !errors.Is(err, netguard.ErrRefused) {
				t.Errorf("Check(%s:8080) = %v, want ErrRefused", ip, err)
			}
			if err := g.Check(context.Background(), netip.AddrPortFrom(ip, 8081)); err != nil {
				t.Errorf("Check(%s:8081) = %v, want nil", ip, err)
			}
		})
	}
}

func TestNewRejectsBadListeners(t *testing.T) {
	tests := []struct {
		name     string
		listener string
		want     string
	}{
		{"no port", "127.0.0.1", "want host:port"},
		{"port zero", ":0", "pass the bound address"},
		{"port by name", ":http", `port "http"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := netguard.New(netguard.Config{Listeners: []string{tt.listener}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.listener) {
				t.Fatalf("New(%q) = %v, want an error naming it and saying %q", tt.listener, err, tt.want)
			}
		})
	}
}
