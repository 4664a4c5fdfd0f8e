package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/karerehub/karere/hub/api"
)

func TestClientAddr(t *testing.T) {
	proxies, err := api.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies api.TrustedProxies
		peer    string
		xff     []string // one header line each
		want    string
	}{
		{"no proxies: the peer", nil, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"untrusted peer: header ignored", proxies, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"trusted peer without header", proxies, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer: the client it saw", proxies, "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a forged entry left of the real one", proxies, "10.1.2.3:5000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies: rightmost untrusted", proxies, "192.0.2.7:443", []string{"1.2.3.4, 203.0.113.9, 10.0.0.5"}, "203.0.113.9"},
		{"several header lines", proxies, "192.0.2.7:443", []string{"1.2.3.4", "203.0.113.9", "10.0.0.5"}, "203.0.113.9"},
		{"every hop trusted: the leftmost", proxies, "10.1.2.3:5000", []string{"10.0.0.9, 10.0.0.5"}, "10.0.0.9"},
		{"garbage from a proxy stops the walk", proxies, "10.1.2.3:5000", []string{"203.0.113.9, unknown"}, "10.1.2.3"},
		{"garbage left of the client is never read", proxies, "10.1.2.3:5000", []string{"<script>, 203.0.113.9"}, "203.0.113.9"},
		{"IPv6 through an IPv6 proxy", proxies, "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", proxies, "[::ffff:10.1.2.3]:443", []string{"203.0.113.9"}, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.proxies.ClientAddr(r); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxiesRefusesNonsense(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1:80"} {
		if _, err := api.ParseTrustedProxies(s); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", s)
		}
	}
	if p, err := api.ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v, %v", p, err)
	}
}
