package netguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/karerehub/karere/internal/netguard"
)

// TestControlOnRealDials dials a real loopback server through
// net.Dialer{Control: g.Control} and through the guard's HTTP client.
func TestControlOnRealDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	tests := []struct {
		name    string
		guard   func(t *testing.T) *netguard.Guard
		refused bool
	}{
		{"nil guard applies the default policy", func(*testing.T) *netguard.Guard { return nil }, true},
		{"default policy", func(t *testing.T) *netguard.Guard { return mustNew(t, netguard.Config{}) }, true},
		{"AllowAll", func(*testing.T) *netguard.Guard { return netguard.AllowAll() }, false},
		{"CIDR 127.0.0.0/8", allowing("127.0.0.0/8", nil), false},
		{"CIDR 127.0.0.1/32", allowing("127.0.0.1/32", nil), false},
		{"exact ip:port", allowing("127.0.0.1:"+port, nil), false},
		{"localhost:port", allowing("localhost:"+port, nil), false},
		{"exact entry for another port", allowing("127.0.0.1:1", nil), true},
		{"own listener under CIDR", allowing("127.0.0.0/8", []string{addr}), true},
		{"own unspecified listener under CIDR", allowing("127.0.0.0/8", []string{":" + port}), true},
		{"own listener exactly allowed", allowing("127.0.0.0/8,"+addr, []string{addr}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.guard(t)

			d := net.Dialer{Control: g.Control, Timeout: 5 * time.Second}
			conn, err := d.Dial("tcp", addr)
			if err == nil {
				conn.Close()
			}
			checkRefused(t, "net.Dialer{Control}.Dial", err, tt.refused)

			conn, err = g.Dialer(5*time.Second).DialContext(context.Background(), "tcp", addr)
			if err == nil {
				conn.Close()
			}
			checkRefused(t, "Dialer().DialContext", err, tt.refused)

			resp, err := g.HTTPClient(5 * time.Second).Get(srv.URL)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "ok" {
					t.Errorf("body = %q", body)
				}
			}
			checkRefused(t, "HTTPClient().Get", err, tt.refused)
		})
	}
}

func allowing(spec string, listeners []string) func(t *testing.T) *netguard.Guard {
	return func(t *testing.T) *netguard.Guard {
		return mustNew(t, netguard.Config{Allow: netguard.MustParse(spec), Listeners: listeners})
	}
}

func checkRefused(t *testing.T, what string, err error, refused bool) {
	t.Helper()
	switch {
	case refused && !errors.Is(err, netguard.ErrRefused):
		t.Errorf("%s = %v, want ErrRefused", what, err)
	case !refused && err != nil:
		t.Errorf("%s = %v, want success", what, err)
	}
}

// TestDialerChecksResolvedAddress is DNS rebinding: the name is checked
// after it resolves at dial time, whatever it resolved to when saved.
func TestDialerChecksResolvedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dns := startFakeDNS(t, map[string][]string{"rebind.test": {"127.0.0.1"}})

	g := mustNew(t, netguard.Config{Resolver: dns.Resolver()})
	_, err = g.Dialer(5*time.Second).DialContext(context.Background(), "tcp", "rebind.test:"+port)
	if !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("dial rebind.test = %v, want ErrRefused", err)
	}
	if dns.Queries("rebind.test") == 0 {
		t.Fatal("the dialer did not use the guard's resolver")
	}

	// The same name allowed by host:port reaches the listener.
	g = mustNew(t, netguard.Config{Allow: netguard.MustParse("rebind.test:" + port), Resolver: dns.Resolver()})
	conn, err := g.Dialer(5*time.Second).DialContext(context.Background(), "tcp", "rebind.test:"+port)
	if err != nil {
		t.Fatalf("dial allow-listed rebind.test = %v", err)
	}
	conn.Close()
}

// TestRedirectToRefusedTarget: the first server is allow-listed, the one
// it redirects to is not; following the redirect fails with ErrRefused.
func TestRedirectToRefusedTarget(t *testing.T) {
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the refused server was reached")
	}))
	defer internal.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/secret", http.StatusFound)
	}))
	defer front.Close()

	g := mustNew(t, netguard.Config{Allow: netguard.MustParse(front.Listener.Addr().String())})
	_, err := g.HTTPClient(5 * time.Second).Get(front.URL)
	if !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("Get through redirect = %v, want ErrRefused", err)
	}
}

func TestControlRefusesNonIPNetworks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skip("no unix sockets:", err)
	}
	defer ln.Close()
	d := net.Dialer{Control: mustNew(t, netguard.Config{Allow: netguard.MustParse("0.0.0.0/0,::/0")}).Control}
	_, err = d.Dial("unix", path)
	if !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("dial unix = %v, want ErrRefused", err)
	}
}
