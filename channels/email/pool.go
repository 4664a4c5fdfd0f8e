package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/karerehub/karere/hub"
)

// relayEndpoint is where and how to submit: one pool per distinct value.
type relayEndpoint struct {
	addr     string // host:port
	tlsMode  string
	username string
	password string
	// operator is true for the default relay (KARERE_SMTP_RELAY), dialled
	// without the target policy; a practice's relay is dialled through it.
	operator bool
}

type poolKey struct {
	addr, tlsMode, username string
	password                [32]byte // hashed: the key may end up in a debugger, not the secret
	operator                bool
}

func (e relayEndpoint) key() poolKey {
	return poolKey{e.addr, e.tlsMode, e.username, sha256.Sum256([]byte(e.password)), e.operator}
}

// pool holds at most size connections to one relay, idle or in use.
type pool struct {
	sem  chan struct{}
	mu   sync.Mutex
	idle []*relayConn // most recently used last
}

// relayConn is one SMTP session with a relay, after EHLO (and STARTTLS and
// AUTH when configured).
type relayConn struct {
	c         *smtp.Client
	raw       net.Conn // the TCP connection under any TLS, closed to abort
	idleSince time.Time
}

func (rc *relayConn) close() {
	rc.c.Close()
	rc.raw.Close()
}

// errPoolClosed is returned once Close has been called.
var errPoolClosed = errors.New("email: sender closed")

func (s *Sender) poolFor(ep relayEndpoint) (*pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errPoolClosed
	}
	k := ep.key()
	p := s.pools[k]
	if p == nil {
		p = &pool{sem: make(chan struct{}, s.cfg.PoolSize)}
		s.pools[k] = p
	}
	return p, nil
}

// acquire returns a ready connection to ep: an idle one that still answers
// RSET, else a new one. release must be called with it.
func (s *Sender) acquire(ctx context.Context, p *pool, ep relayEndpoint) (*relayConn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("email: waiting for a connection to the relay: %w", ctx.Err())
	}
	for {
		p.mu.Lock()
		var rc *relayConn
		if n := len(p.idle); n > 0 {
			rc = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if rc == nil {
			break
		}
		if s.cfg.Now().Sub(rc.idleSince) > s.cfg.IdleTimeout {
			rc.close()
			continue
		}
		// RSET both resets any transaction state and proves the relay
		// is still there.
		if err := withConn(ctx, rc, rc.c.Reset); err != nil {
			rc.close()
			continue
		}
		return rc, nil
	}
	rc, err := s.dial(ctx, ep)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return rc, nil
}

// release gives rc back to p when healthy, else closes it.
func (s *Sender) release(p *pool, rc *relayConn, healthy bool) {
	defer func() { <-p.sem }()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !healthy || closed {
		rc.close()
		return
	}
	rc.idleSince = s.cfg.Now()
	p.mu.Lock()
	p.idle = append(p.idle, rc)
	p.mu.Unlock()
}

// withConn runs fn, closing rc's connection if ctx ends first so that fn
// returns promptly.
func withConn(ctx context.Context, rc *relayConn, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { rc.raw.Close() })
	err := fn()
	if !stop() {
		return fmt.Errorf("email: %w", ctx.Err())
	}
	return err
}

// dial connects to the relay, says EHLO, sets up TLS and authenticates.
func (s *Sender) dial(ctx context.Context, ep relayEndpoint) (*relayConn, error) {
	host, _, err := net.SplitHostPort(ep.addr)
	if err != nil {
		return nil, fmt.Errorf("email: relay address %q: %w", ep.addr, err)
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	d := s.cfg.Dialer
	if ep.operator {
		d = s.cfg.DefaultRelayDialer
	}
	raw, err := d.DialContext(dctx, "tcp", ep.addr)
	if err != nil {
		return nil, fmt.Errorf("email: connecting to relay: %w", err)
	}
	tlsConfig := s.tlsConfig(host)

	rc := &relayConn{raw: raw}
	// The greeting and the first EHLO run under go-smtp's default
	// CommandTimeout (5 minutes), which cannot be changed before
	// NewClientStartTLS: bound the whole setup here instead.
	sctx, scancel := context.WithTimeout(ctx, s.cfg.DialTimeout+3*s.cfg.CommandTimeout)
	defer scancel()
	stop := context.AfterFunc(sctx, func() { raw.Close() })
	defer stop()

	// An error after sctx ended is the deadline's doing (it closed raw):
	// report it as the timeout it is, not as the closed connection.
	setupErr := func(what string, err error) error {
		if sctx.Err() != nil {
			return fmt.Errorf("email: %s: %w (%v)", what, sctx.Err(), err)
		}
		return fmt.Errorf("email: %s: %w", what, err)
	}
	var c *smtp.Client
	switch ep.tlsMode {
	case TLSImplicit:
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, setupErr("TLS with relay", err)
		}
		c = smtp.NewClient(tc)
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(raw, tlsConfig)
		if err != nil {
			raw.Close()
			return nil, setupErr("STARTTLS with relay", err)
		}
	case TLSNone:
		c = smtp.NewClient(raw)
	default:
		raw.Close()
		return nil, fmt.Errorf("email: unknown TLS mode %q", ep.tlsMode)
	}
	rc.c = c
	c.CommandTimeout = s.cfg.CommandTimeout
	c.SubmissionTimeout = s.cfg.SubmissionTimeout
	if err := c.Hello(s.cfg.HELOName); err != nil {
		rc.close()
		return nil, setupErr("EHLO", err)
	}
	if ep.username != "" {
		if err := authenticate(c, ep); err != nil {
			rc.close()
			return nil, err
		}
	}
	if !stop() {
		rc.close()
		return nil, fmt.Errorf("email: setting up the relay session: %w", sctx.Err())
	}
	return rc, nil
}

// authenticate uses AUTH PLAIN, or LOGIN for relays that only offer it.
// Credentials only cross TLS, unless the practice chose tls=none.
func authenticate(c *smtp.Client, ep relayEndpoint) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && ep.tlsMode != TLSNone {
		return hub.Public(errors.New("email: refusing AUTH without TLS"))
	}
	var a sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		a = sasl.NewPlainClient("", ep.username, ep.password)
	case c.SupportsAuth(sasl.Login):
		a = sasl.NewLoginClient(ep.username, ep.password)
	default:
		return &stageError{stage: "auth", err: hub.Public(errors.New("email: relay offers neither AUTH PLAIN nor AUTH LOGIN"))}
	}
	if err := c.Auth(a); err != nil {
		return &stageError{stage: "auth", err: err}
	}
	return nil
}

func (s *Sender) tlsConfig(host string) *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Close closes idle relay connections; connections in use are closed when
// their send ends. Sends after Close fail (temporarily).
func (s *Sender) Close() error {
	s.mu.Lock()
	s.closed = true
	pools := s.pools
	s.mu.Unlock()
	for _, p := range pools {
		p.mu.Lock()
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		for _, rc := range idle {
			rc.raw.SetDeadline(time.Now().Add(time.Second))
			rc.c.Quit()
			rc.close()
		}
	}
	return nil
}
