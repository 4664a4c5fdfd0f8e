package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/api"
	"github.com/karerehub/karere/hub/identity"
	"github.com/karerehub/karere/internal/netguard"
)

// Config is everything hubd can be told. Every flag has an environment
// twin: --database-url and KARERE_DATABASE_URL.
type Config struct {
	DatabaseURL       string
	RedisURL          string
	HTTPAddr          string
	PublicURL         string
	PortalURL         string
	SecretKey         string
	Roles             string
	DataDir           string
	Concurrency       int
	TaskCheckInterval time.Duration
	SweepInterval     time.Duration
	SweepGrace        time.Duration
	RetryBase         time.Duration
	RetryMax          time.Duration
	MaxRetry          int
	ShutdownTimeout   time.Duration
	Migrate           bool
	TwilioBaseURL     string
	SMTPRelay         string
	SMTPTLS           string
	SMTPUsername      string
	SMTPPassword      string
	SMTPFrom          string
	SMTPAddr          string
	ReplyDomain       string
	TLSCert           string
	TLSKey            string
	LogLevel          string
	LogFormat         string
	RateLimit         float64
	OpsToken          string
	TrustedProxies    string
	MaxPasswordChecks int
	// AllowedPrivateTargets lets the hub connect, on a practice's behalf,
	// to otherwise refused addresses: CIDRs or host:port
	// (netguard.Parse).
	AllowedPrivateTargets string
	// SMTPMaxConnections caps the inbound SMTP server's open connections;
	// SMTPConnectionsPerMinute bounds new connections from one address
	// (0: no limit).
	SMTPMaxConnections       int
	SMTPConnectionsPerMinute int

	// RelayTLS, when set, is the TLS configuration for outgoing relays
	// (tests trust a loopback relay's certificate with it).
	RelayTLS *tls.Config

	// Set by programs, never by flags:

	// Clock is the services' clock; nil means time.Now (tests of session
	// expiry and lockout move it).
	Clock func() time.Time
	// MinReminderOffset lowers the smallest reminder offset, escalation
	// delay and digest window the settings accept (tests run reminders in
	// seconds); 0 keeps settings.MinReminderOffset.
	MinReminderOffset time.Duration
	// WrapChannel, when set, wraps each delivery channel (cmd/hubbench
	// times the portal channel with it).
	WrapChannel func(name string, c hub.Channel) hub.Channel
	// Resolver resolves names for the target guard (save-time checks and
	// every connection made for a practice); nil: the system's. Tests
	// give a fake DNS server's resolver.
	Resolver *net.Resolver

	allowed netguard.AllowList

	secretKey      []byte
	roles          map[string]bool
	trustedProxies api.TrustedProxies
}

// Defaults, with why.
const (
	// DefaultHTTPAddr listens on every interface for containers; `hubd dev`
	// uses loopback instead.
	DefaultHTTPAddr = ":8080"
	// DefaultConcurrency: sends wait on providers, not the CPU.
	DefaultConcurrency = 20
	// DefaultShutdownTimeout bounds how long SIGTERM waits for in-flight
	// sends before they are handed back to the queue.
	DefaultShutdownTimeout = 25 * time.Second
	// DefaultSMTPMaxConnections: replies and bounces are a trickle; a
	// hundred sessions at once is a burst from many mail servers, while
	// each session holds a goroutine and up to 10 MB of message.
	DefaultSMTPMaxConnections = 100
	// DefaultSMTPConnectionsPerMinute: a mail server sends several
	// messages over one connection; a peer opening more than one new
	// connection a second is probing or flooding.
	DefaultSMTPConnectionsPerMinute = 60
)

// envName gives a flag's environment twin.
func envName(flagName string) string {
	return "KARERE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// BindFlags registers the configuration flags on fs, each defaulting to
// its KARERE_* environment variable when that is set.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	str := func(p *string, name, def, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ("+envName(name)+")")
	}
	integer := func(p *int, name string, def int, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if n, err := strconv.Atoi(v); err == nil {
				def = n
			} else {
				envErrors = append(envErrors, fmt.Sprintf("%s: %q is not a whole number", envName(name), v))
			}
		}
		fs.IntVar(p, name, def, usage+" ("+envName(name)+")")
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			} else {
				envErrors = append(envErrors, fmt.Sprintf("%s: %q is not a duration like 30s or 5m", envName(name), v))
			}
		}
		fs.DurationVar(p, name, def, usage+" ("+envName(name)+")")
	}
	boolean := func(p *bool, name string, def bool, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if b, err := strconv.ParseBool(v); err == nil {
				def = b
			} else {
				envErrors = append(envErrors, fmt.Sprintf("%s: %q is not true or false", envName(name), v))
			}
		}
		fs.BoolVar(p, name, def, usage+" ("+envName(name)+")")
	}
	float := func(p *float64, name string, def float64, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				def = f
			} else {
				envErrors = append(envErrors, fmt.Sprintf("%s: %q is not a number", envName(name), v))
			}
		}
		fs.Float64Var(p, name, def, usage+" ("+envName(name)+")")
	}
	str(&c.DatabaseURL, "database-url", "", "database: postgres://user@host/db or sqlite:PATH")
	str(&c.RedisURL, "redis-url", "", "Redis for the queue: redis://host:6379/0 (rediss://, redis-sentinel:// also work)")
	str(&c.HTTPAddr, "http-addr", DefaultHTTPAddr, "address the HTTP API listens on")
	str(&c.PublicURL, "public-url", "", "the URL Twilio, mail clients and browsers reach this hub at, e.g. https://karere.example.nz (webhook signatures are checked against it)")
	str(&c.PortalURL, "portal-url", "", "where patients sign in to the practice portal (shown in notices)")
	str(&c.SecretKey, "secret-key", "", "32 random bytes, base64 or hex, that encrypt practice settings at rest (openssl rand -base64 32)")
	str(&c.Roles, "roles", "api,worker,smtp", "what this process runs: any of api, worker, smtp, comma-separated")
	str(&c.DataDir, "data-dir", "karere-data", "directory for the embedded default's files (hubd dev)")
	integer(&c.Concurrency, "worker-concurrency", DefaultConcurrency, "deliveries sent at once by this process")
	dur(&c.TaskCheckInterval, "task-check-interval", 10*time.Millisecond, "how often an idle worker looks for new tasks (latency vs idle Redis calls)")
	dur(&c.SweepInterval, "sweep-interval", 30*time.Second, "how often pending deliveries missing from Redis are re-enqueued")
	dur(&c.SweepGrace, "sweep-grace", 10*time.Second, "how old a pending delivery must be before the sweeper re-enqueues it")
	dur(&c.RetryBase, "retry-base", 5*time.Second, "first retry delay after a temporary failure (doubles each time, with jitter)")
	dur(&c.RetryMax, "retry-max", time.Hour, "longest retry delay")
	integer(&c.MaxRetry, "max-retry", 14, "retries before a delivery is failed and archived")
	dur(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "how long SIGTERM waits for in-flight work")
	boolean(&c.Migrate, "migrate", true, "apply database migrations at start")
	str(&c.TwilioBaseURL, "twilio-base-url", "https://api.twilio.com", "Twilio API base URL (edge locations, tests)")
	str(&c.SMTPRelay, "smtp-relay", "", "default outgoing mail relay host:port for practices that set none")
	str(&c.SMTPTLS, "smtp-tls", "starttls", "TLS to the default relay: starttls, implicit or none")
	str(&c.SMTPUsername, "smtp-username", "", "AUTH user for the default relay")
	str(&c.SMTPPassword, "smtp-password", "", "AUTH password for the default relay")
	str(&c.SMTPFrom, "smtp-from", "", "From address for practices that set none, e.g. \"Kōwhai Health\" <noreply@kowhai.example>")
	str(&c.SMTPAddr, "smtp-addr", ":2525", "address the inbound SMTP server (replies, bounces) listens on")
	str(&c.ReplyDomain, "reply-domain", "", "mail domain replies and bounces come back to (MX pointing at this hub)")
	str(&c.TLSCert, "tls-cert", "", "certificate file for STARTTLS on inbound SMTP")
	str(&c.TLSKey, "tls-key", "", "key file for --tls-cert")
	str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "text", "text or json")
	str(&c.OpsToken, "ops-token", "", "password for the operators' queue dashboard at /ops/queues/ (off when empty)")
	str(&c.AllowedPrivateTargets, "allowed-private-targets", "", "loopback/private targets practices' webhooks, relays and the Twilio base URL may reach, comma-separated CIDRs or host:port (an on-premises PMS: 10.20.0.0/16,pms.surgery.local:8443)")
	integer(&c.SMTPMaxConnections, "smtp-max-connections", DefaultSMTPMaxConnections, "open connections the inbound SMTP server serves at once; more are answered 421 and closed")
	integer(&c.SMTPConnectionsPerMinute, "smtp-connections-per-minute", DefaultSMTPConnectionsPerMinute, "new inbound SMTP connections per minute from one address (IPv6: one /64) before 421; 0 for no limit")
	float(&c.RateLimit, "rate-limit", 50, "API requests per second per key")
	str(&c.TrustedProxies, "trusted-proxies", "", "reverse proxies whose X-Forwarded-For is believed: CIDRs or addresses, comma-separated (e.g. 10.0.0.0/8); empty: the TCP peer is the client")
	integer(&c.MaxPasswordChecks, "max-password-checks", identity.DefaultMaxPasswordChecks, "staff password checks run at once (argon2id, 64 MiB each); more sign-ins at once are answered 429")
}

// envErrors collects environment values that could not be parsed.
var envErrors []string

// Validate checks the configuration and names the setting that is wrong.
func (c *Config) Validate(needDB, needRedis bool) error {
	var errs []string
	errs = append(errs, envErrors...)
	if needDB {
		switch {
		case c.DatabaseURL == "":
			errs = append(errs, "KARERE_DATABASE_URL (--database-url) is required: postgres://... or sqlite:PATH")
		case !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:"):
			errs = append(errs, "KARERE_DATABASE_URL (--database-url) must start with postgres://, postgresql:// or sqlite:")
		}
	}
	c.roles = map[string]bool{}
	for _, r := range strings.Split(c.Roles, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "api", "worker", "smtp":
			c.roles[r] = true
		case "":
		default:
			errs = append(errs, fmt.Sprintf("KARERE_ROLES (--roles): unknown role %q (use api, worker, smtp)", r))
		}
	}
	if needRedis {
		if c.RedisURL == "" {
			errs = append(errs, "KARERE_REDIS_URL (--redis-url) is required: redis://host:6379/0")
		} else if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "redis-sentinel" && u.Scheme != "redis-socket") {
			errs = append(errs, "KARERE_REDIS_URL (--redis-url) must be a redis://, rediss://, redis-socket:// or redis-sentinel:// URL")
		}
		key, err := decodeKey(c.SecretKey)
		if err != nil {
			errs = append(errs, "KARERE_SECRET_KEY (--secret-key): "+err.Error())
		}
		c.secretKey = key
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, "KARERE_PUBLIC_URL (--public-url) must be an http(s) URL such as https://karere.example.nz")
		}
	}
	if c.Concurrency < 1 || c.Concurrency > 1000 {
		errs = append(errs, "KARERE_WORKER_CONCURRENCY (--worker-concurrency) must be 1-1000")
	}
	if c.TaskCheckInterval < time.Millisecond {
		errs = append(errs, "KARERE_TASK_CHECK_INTERVAL (--task-check-interval) must be at least 1ms")
	}
	if c.MaxRetry < 0 {
		errs = append(errs, "KARERE_MAX_RETRY (--max-retry) must not be negative")
	}
	switch c.SMTPTLS {
	case "starttls", "implicit", "none":
	default:
		errs = append(errs, "KARERE_SMTP_TLS (--smtp-tls) must be starttls, implicit or none")
	}
	if c.SMTPRelay != "" {
		if _, _, err := net.SplitHostPort(c.SMTPRelay); err != nil {
			errs = append(errs, "KARERE_SMTP_RELAY (--smtp-relay) must be host:port, e.g. mail.example.nz:587")
		}
	}
	if tp, err := api.ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, "KARERE_TRUSTED_PROXIES (--trusted-proxies): "+err.Error())
	} else {
		c.trustedProxies = tp
	}
	if c.MaxPasswordChecks < 1 || c.MaxPasswordChecks > 64 {
		errs = append(errs, "KARERE_MAX_PASSWORD_CHECKS (--max-password-checks) must be 1-64 (each check holds 64 MiB)")
	}
	if allowed, err := netguard.Parse(c.AllowedPrivateTargets); err != nil {
		errs = append(errs, "KARERE_ALLOWED_PRIVATE_TARGETS (--allowed-private-targets): "+strings.TrimPrefix(err.Error(), "netguard: "))
	} else {
		c.allowed = allowed
	}
	if c.SMTPMaxConnections < 1 || c.SMTPMaxConnections > 100000 {
		errs = append(errs, "KARERE_SMTP_MAX_CONNECTIONS (--smtp-max-connections) must be 1-100000")
	}
	if c.SMTPConnectionsPerMinute < 0 {
		errs = append(errs, "KARERE_SMTP_CONNECTIONS_PER_MINUTE (--smtp-connections-per-minute) must not be negative (0: no limit)")
	}
	if c.OpsToken != "" && len(c.OpsToken) < 16 {
		errs = append(errs, "KARERE_OPS_TOKEN (--ops-token) must be at least 16 characters (openssl rand -base64 24)")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, "KARERE_TLS_CERT and KARERE_TLS_KEY go together: set both or neither")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, "KARERE_LOG_LEVEL (--log-level) must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, "KARERE_LOG_FORMAT (--log-format) must be text or json")
	}
	if len(errs) > 0 {
		return errors.New("invalid configuration:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("required: 32 random bytes, base64 or hex (openssl rand -base64 32)")
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("must be 32 bytes, base64 (44 characters) or hex (64 characters)")
}

// ReplySecret derives the key that signs email reply, bounce and
// unsubscribe tokens from KARERE_SECRET_KEY, so every process agrees on it
// without another setting.
func (c *Config) ReplySecret() []byte {
	m := hmac.New(sha256.New, c.secretKey)
	m.Write([]byte("karere email reply tokens v1"))
	return m.Sum(nil)
}
