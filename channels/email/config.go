package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/karerehub/karere/internal/netguard"
)

// TLS modes of a relay connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS; refused if not offered
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS: only for a relay on the same host or network
)

// Defaults.
const (
	// DefaultDialTimeout bounds the TCP connect and TLS handshake.
	DefaultDialTimeout = 15 * time.Second
	// DefaultCommandTimeout bounds each SMTP command. RFC 5321 allows
	// minutes; a relay that is that slow is better retried later.
	DefaultCommandTimeout = 60 * time.Second
	// DefaultSubmissionTimeout bounds the answer after the final dot, when
	// relays run their content checks.
	DefaultSubmissionTimeout = 3 * time.Minute
	// DefaultIdleTimeout: pooled connections idle longer are closed rather
	// than reused; most relays drop idle clients after about a minute.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultPoolSize bounds the connections to one relay (per set of
	// credentials): relays limit concurrent sessions per client.
	DefaultPoolSize = 4
)

// Config configures a Sender. Field comments name the environment variable
// cmd/hubd reads it from.
type Config struct {
	// DefaultRelay is host:port of the relay for practices that set none
	// (KARERE_SMTP_RELAY). Empty: such practices cannot send email.
	DefaultRelay    string
	DefaultTLS      string // KARERE_SMTP_TLS: starttls (default) | implicit | none
	DefaultUsername string // KARERE_SMTP_USERNAME
	DefaultPassword string // KARERE_SMTP_PASSWORD
	// DefaultFrom is the From address for practices whose settings name
	// none (KARERE_SMTP_FROM).
	DefaultFrom string
	// ReplyDomain is the domain of reply+ and bounce+ addresses for
	// practices that set none (KARERE_REPLY_DOMAIN): the domain whose MX
	// is the inbound Server. Empty, and no practice setting: messages carry
	// no Reply-To and bounces are not tracked.
	ReplyDomain string
	// HELOName is the name given in EHLO (not configurable yet); default
	// "localhost". go-smtp says "localhost" in the EHLO before STARTTLS
	// whatever this is.
	HELOName string
	// ReplySecret keys the reply, bounce and unsubscribe tokens
	// (derived from KARERE_SECRET_KEY). It must be the same
	// for the Sender, the Server and the unsubscribe endpoint.
	ReplySecret []byte
	// PublicURL is the hub's public base URL (KARERE_PUBLIC_URL); the
	// one-click unsubscribe link is PublicURL/v1/unsubscribe/TOKEN.
	PublicURL string

	DialTimeout       time.Duration
	CommandTimeout    time.Duration
	SubmissionTimeout time.Duration
	IdleTimeout       time.Duration
	PoolSize          int

	// TLSConfig is the base TLS configuration for relays (tests set
	// RootCAs); ServerName is set per relay. Nil: system roots.
	TLSConfig *tls.Config

	// Dialer connects to a practice's own relay. The hub passes its
	// target guard's dialer (netguard.Guard.Dialer), which refuses
	// loopback, private and the hub's own addresses on the resolved
	// address, so a practice admin cannot point the hub at its Redis. Nil
	// applies netguard's default policy (no allow-list): fail closed.
	Dialer Dialer
	// DefaultRelayDialer connects to DefaultRelay, the operator's relay
	// (KARERE_SMTP_RELAY). It is not a practice's choice, and is often a
	// local MTA (127.0.0.1:25, a sidecar on a private network), so it is
	// not subject to the target policy. Nil: a plain net.Dialer.
	DefaultRelayDialer Dialer

	// Now is the clock for Date headers; nil: time.Now.
	Now func() time.Time
}

// Dialer opens connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Validate reports what to set when c cannot work.
func (c Config) Validate() error {
	var errs []error
	if len(c.ReplySecret) < 32 {
		errs = append(errs, errors.New("email: set KARERE_SECRET_KEY (the email reply secret is derived from it)"))
	}
	if c.DefaultRelay != "" {
		if _, _, err := net.SplitHostPort(c.DefaultRelay); err != nil {
			errs = append(errs, fmt.Errorf("email: KARERE_SMTP_RELAY must be host:port: %w", err))
		}
	}
	switch c.DefaultTLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("email: KARERE_SMTP_TLS must be starttls, implicit or none, not %q", c.DefaultTLS))
	}
	if c.DefaultFrom != "" {
		if _, err := parseAddress(c.DefaultFrom); err != nil {
			errs = append(errs, errors.New("email: KARERE_SMTP_FROM is not a single email address"))
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, errors.New("email: KARERE_PUBLIC_URL must be an https:// URL (RFC 8058 one-click unsubscribe)"))
		}
	}
	if c.ReplyDomain != "" && !validDomain(c.ReplyDomain) {
		errs = append(errs, errors.New("email: KARERE_REPLY_DOMAIN is not a domain name"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.DefaultTLS == "" {
		c.DefaultTLS = TLSStartTLS
	}
	if c.HELOName == "" {
		c.HELOName = "localhost"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.SubmissionTimeout <= 0 {
		c.SubmissionTimeout = DefaultSubmissionTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Dialer == nil {
		c.Dialer = (*netguard.Guard)(nil).Dialer(c.DialTimeout)
	}
	if c.DefaultRelayDialer == nil {
		c.DefaultRelayDialer = &net.Dialer{Timeout: c.DialTimeout}
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// validDomain accepts an ASCII host name: letters, digits, '-' and dots.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}
