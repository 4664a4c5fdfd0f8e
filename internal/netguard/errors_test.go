package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/internal/netguard"
)

// serve starts a loopback TCP server running handle on each connection
// and returns its address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

const banner = "554 5.7.1 redis_version:7.2.4 at 10.0.0.7:6379 says -ERR unknown command"

func TestClassify(t *testing.T) {
	open := netguard.AllowAll().Dialer(5 * time.Second)
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want string
	}{
		{"nil", func(*testing.T) error { return nil }, ""},
		{"dial refused by policy", func(t *testing.T) error {
			d := net.Dialer{Control: (*netguard.Guard)(nil).Control}
			_, err := d.Dial("tcp", closedPort(t))
			return err
		}, netguard.TextRefused},
		{"HTTP request refused by policy, wrapped again", func(t *testing.T) error {
			_, err := (*netguard.Guard)(nil).HTTPClient(5 * time.Second).Get("http://169.254.169.254/latest/meta-data/")
			return fmt.Errorf("webhook: %w", err)
		}, netguard.TextRefused},
		{"save-time refusal", func(t *testing.T) error {
			return (*netguard.Guard)(nil).CheckHost(context.Background(), "localhost", 6379)
		}, netguard.TextRefused},
		{"closed port (ECONNREFUSED)", func(t *testing.T) error {
			_, err := open.Dial("tcp", closedPort(t))
			return err
		}, netguard.TextFailed},
		{"server hangs up (EOF)", func(t *testing.T) error {
			addr := serve(t, func(c net.Conn) { c.Close() })
			c, err := open.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = textproto.NewConn(c).ReadLine()
			return err
		}, netguard.TextFailed},
		{"banner from something that is not SMTP", func(t *testing.T) error {
			addr := serve(t, func(c net.Conn) { io.WriteString(c, banner+"\r\n"); c.Close() })
			c, err := open.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_, _, err = textproto.NewConn(c).ReadResponse(220)
			return err
		}, netguard.TextFailed},
		{"read deadline", func(t *testing.T) error {
			addr := serve(t, func(c net.Conn) { time.Sleep(2 * time.Second); c.Close() })
			c, err := open.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err = c.Read(make([]byte, 1))
			return err
		}, netguard.TextTimedOut},
		{"dial with expired context", func(t *testing.T) error {
			ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
			defer cancel()
			_, err := open.DialContext(ctx, "tcp", closedPort(t))
			return err
		}, netguard.TextTimedOut},
		{"HTTP client timeout", func(t *testing.T) error {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}))
			defer srv.Close()
			_, err := netguard.AllowAll().HTTPClient(50 * time.Millisecond).Get(srv.URL)
			return err
		}, netguard.TextTimedOut},
		{"HTTP to a server that hangs up", func(t *testing.T) error {
			addr := serve(t, func(c net.Conn) { c.Close() })
			_, err := netguard.AllowAll().HTTPClient(5 * time.Second).Get("http://" + addr + "/")
			return err
		}, netguard.TextFailed},
		{"HTTP to something that answers with a banner", func(t *testing.T) error {
			addr := serve(t, func(c net.Conn) { io.WriteString(c, banner+"\r\n"); c.Close() })
			_, err := netguard.AllowAll().HTTPClient(5 * time.Second).Get("http://" + addr + "/")
			return err
		}, netguard.TextFailed},
		{"an error that is no network error at all", func(*testing.T) error {
			return errors.New("10.0.0.7:6379: connection reset by peer")
		}, netguard.TextFailed},
	}
	allowed := map[string]bool{netguard.TextFailed: true, netguard.TextTimedOut: true, netguard.TextRefused: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			got := netguard.Classify(err)
			if got != tt.want {
				t.Fatalf("Classify(%v) = %q, want %q", err, got, tt.want)
			}
			if err != nil && !allowed[got] {
				t.Fatalf("Classify gave %q, not one of the three texts", got)
			}
			if strings.Contains(got, "redis") || strings.Contains(got, "127.0.0.1") || strings.Contains(got, "10.0.0.7") {
				t.Fatalf("Classify leaked detail: %q", got)
			}
		})
	}
}

func TestErrRefusedText(t *testing.T) {
	if got := netguard.ErrRefused.Error(); got != "refused by target policy" {
		t.Fatalf("ErrRefused = %q", got)
	}
	err := (*netguard.Guard)(nil).CheckHost(context.Background(), "127.0.0.1", 6379)
	// The typed error carries the detail for the logs ...
	if got := err.Error(); !strings.Contains(got, "127.0.0.1:6379") || !strings.Contains(got, "loopback") {
		t.Fatalf("log text %q lacks address and reason", got)
	}
	// ... and Classify hides it.
	if got := netguard.Classify(err); got != "refused by target policy" {
		t.Fatalf("Classify = %q", got)
	}
}
