package email

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Connection limits of the inbound Server: without them, anyone could
// open thousands of sessions, each holding a goroutine and up to
// MaxMessageBytes of message.
const (
	// DefaultMaxConnections caps the connections served at once
	// (KARERE_SMTP_MAX_CONNECTIONS). Replies and bounces are a trickle;
	// a hundred sessions at once is already a burst from many mail servers.
	DefaultMaxConnections = 100
	// DefaultConnectionsPerMinute bounds new connections from one address
	// (KARERE_SMTP_CONNECTIONS_PER_MINUTE). A mail server sends several
	// messages over one connection; a peer opening more than one a second
	// for a minute is probing or flooding.
	DefaultConnectionsPerMinute = 60
)

// tooManyConnections is the answer to a connection over a limit, sent
// instead of the greeting (RFC 5321 section 3.1 allows a 421 there); the
// sending server retries later.
const tooManyConnections = "421 4.7.0 %s Too many connections, try again later\r\n"

// limitListener hands go-smtp only the connections within the limits, and
// answers the others 421 and closes them itself, before go-smtp sees them.
type limitListener struct {
	net.Listener
	slots    chan struct{} // one per connection being served
	perAddr  *addrLimiter  // nil: no per-address limit
	greeting []byte        // the 421 answer
	log      *slog.Logger

	refusedFull, refusedRate atomic.Int64
	mu                       sync.Mutex
	lastLog                  time.Time
}

func newLimitListener(l net.Listener, cfg ServerConfig, log *slog.Logger) *limitListener {
	ll := &limitListener{Listener: l, slots: make(chan struct{}, cfg.MaxConnections), log: log,
		greeting: []byte(fmt.Sprintf(tooManyConnections, cfg.Hostname))}
	if cfg.ConnectionsPerMinute > 0 {
		ll.perAddr = newAddrLimiter(cfg.ConnectionsPerMinute)
	}
	return ll
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.perAddr != nil && !l.perAddr.allow(c.RemoteAddr(), time.Now()) {
			l.refusedRate.Add(1)
			l.refuse(c)
			continue
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, slots: l.slots}, nil
		default:
			l.refusedFull.Add(1)
			l.refuse(c)
		}
	}
}

// refuse answers 421 and closes c. The write goes to a fresh socket's
// empty send buffer, so it does not block; the deadline makes sure.
func (l *limitListener) refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(l.greeting)
	_ = c.Close()
	l.report()
}

// report logs refusals at most once a minute, with counts and no
// addresses.
func (l *limitListener) report() {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.lastLog) < time.Minute {
		l.mu.Unlock()
		return
	}
	l.lastLog = now
	l.mu.Unlock()
	l.log.Warn("inbound SMTP connections refused (421) since the last report",
		"server_full", l.refusedFull.Swap(0), "address_rate", l.refusedRate.Swap(0), "max_connections", cap(l.slots))
}

// limitedConn frees its slot when closed (go-smtp closes it when the
// session ends, through any TLS layer on top).
type limitedConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}

// addrLimiter is a token bucket per remote address: perMinute tokens,
// refilled at perMinute a minute. IPv6 peers are counted per /64, the
// block one host usually has. It lives in the process: each SMTP process
// counts its own connections.
type addrLimiter struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[netip.Addr]*rate.Limiter
	swept     time.Time
}

func newAddrLimiter(perMinute int) *addrLimiter {
	return &addrLimiter{perMinute: perMinute, buckets: map[netip.Addr]*rate.Limiter{}}
}

func (a *addrLimiter) allow(remote net.Addr, now time.Time) bool {
	key, ok := limitKey(remote)
	if !ok {
		return true // not TCP (a test's pipe): nothing to count by
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.swept) > time.Minute {
		a.sweep(now)
	}
	b := a.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(float64(a.perMinute)/60), a.perMinute)
		a.buckets[key] = b
	}
	return b.AllowN(now, 1)
}

// sweep forgets full buckets: an address that has not connected for a
// while has nothing worth keeping, so the map holds only recent peers.
func (a *addrLimiter) sweep(now time.Time) {
	a.swept = now
	for k, b := range a.buckets {
		if b.TokensAt(now) >= float64(a.perMinute) {
			delete(a.buckets, k)
		}
	}
}

// limitKey is the address a peer is counted by: its IPv4 address, or the
// /64 of its IPv6 address.
func limitKey(remote net.Addr) (netip.Addr, bool) {
	ta, ok := remote.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		p, err := ip.WithZone("").Prefix(64)
		if err != nil {
			return netip.Addr{}, false
		}
		return p.Addr(), true
	}
	return ip, true
}
