package email

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func startLimitedServer(t *testing.T, maxConns, perMinute int) string {
	t.Helper()
	s := NewServer(ServerConfig{
		Domains:              []string{replyDomain},
		ReplySecret:          testSecret,
		MaxConnections:       maxConns,
		ConnectionsPerMinute: perMinute,
		Logger:               slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, tripwire{t})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

// greeting opens a connection and reads the server's first line.
func greeting(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err)
		return nil, ""
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Error(err)
	}
	c.SetReadDeadline(time.Time{})
	return c, line
}

// TestServerConnectionCap: 300 connections at once to a server with the
// default cap of 100: exactly 100 are greeted and served, the other 200
// are answered 421 and closed. Once served connections end, their slots
// are free again.
func TestServerConnectionCap(t *testing.T) {
	addr := startLimitedServer(t, 0, -1) // the default cap; no per-address limit (all from 127.0.0.1)
	const attempts = 300
	var (
		mu       sync.Mutex
		served   []net.Conn
		refused  int
		wg       sync.WaitGroup
		start    = make(chan struct{})
		unwanted []string
	)
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, line := greeting(t, addr)
			if c == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case strings.HasPrefix(line, "220 "):
				served = append(served, c) // held open until every attempt has its answer
			case strings.HasPrefix(line, "421 4.7.0 "):
				refused++
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
					unwanted = append(unwanted, "a refused connection was left open")
				}
				c.Close()
			default:
				unwanted = append(unwanted, line)
				c.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(served) != DefaultMaxConnections || refused != attempts-DefaultMaxConnections || len(unwanted) > 0 {
		t.Fatalf("%d served, %d refused, other: %q; want %d and %d", len(served), refused, unwanted,
			DefaultMaxConnections, attempts-DefaultMaxConnections)
	}
	for _, c := range served[:10] {
		c.Write([]byte("QUIT\r\n"))
		c.Close()
	}
	// The server notices the closes when it reads; new connections get
	// the freed slots.
	deadline := time.Now().Add(10 * time.Second)
	for got := 0; got < 10; {
		c, line := greeting(t, addr)
		if c == nil {
			return
		}
		if strings.HasPrefix(line, "220 ") {
			got++
			served = append(served, c)
			continue
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 10 freed slots were reused", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, line := greeting(t, addr); c != nil {
		c.Close()
		if !strings.HasPrefix(line, "421 ") {
			t.Errorf("connection %d: %q, want 421", DefaultMaxConnections+1, line)
		}
	}
	for _, c := range served {
		c.Close()
	}
}

// TestServerConnectionRatePerAddress: one address may open
// ConnectionsPerMinute connections in a burst; the next is answered 421
// even though the server has room.
func TestServerConnectionRatePerAddress(t *testing.T) {
	addr := startLimitedServer(t, 100, 5)
	for i := range 5 {
		c, line := greeting(t, addr)
		if c == nil {
			return
		}
		c.Write([]byte("QUIT\r\n"))
		c.Close()
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("connection %d: %q, want 220", i+1, line)
		}
	}
	c, line := greeting(t, addr)
	if c != nil {
		c.Close()
	}
	if !strings.HasPrefix(line, "421 4.7.0 ") {
		t.Fatalf("connection 6: %q, want 421", line)
	}
}

func TestLimitKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.7:25", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:25", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:25", "2001:db8:1:2::"},
		{"[2001:db8:1:2::9]:2525", "2001:db8:1:2::"},
	}
	for _, tt := range tests {
		k, ok := limitKey(net.TCPAddrFromAddrPort(mustAddrPort(tt.remote)))
		if !ok || k.String() != tt.want {
			t.Errorf("limitKey(%s) = %v, %v; want %s", tt.remote, k, ok, tt.want)
		}
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
