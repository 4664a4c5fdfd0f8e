package settings

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
)

// This file holds the settings the API writes (PUT /v1/settings/{kind})
// and reads back. Secrets (auth_token, password, dkim_private_key, the
// webhook secret) are write-only: a read says only whether one is set,
// and a write that leaves one out keeps the stored one.

// Reminder settings bounds.
const (
	MinReminderOffset = 15 * time.Minute
	MaxReminderOffset = 14 * 24 * time.Hour
	MaxReminderCount  = 5
)

// ReminderSettings are a practice's reminder offsets, quiet hours and
// whether SMS reminders ask for a Y/N confirmation. The zero value (no
// settings stored) means the defaults.
type ReminderSettings struct {
	Offsets    []string    `json:"offsets"`
	QuietHours *QuietHours `json:"quiet_hours"`
	Confirm    *bool       `json:"confirm"`
	// EscalateAfter: a portal notice or secure-message notice still
	// unread this long after it was delivered goes to the patient's next
	// channel ("4h"; "" or "0" turns escalation off).
	EscalateAfter *string `json:"escalate_after,omitempty"`
	// DigestWindow: plain notices to SMS or email wait this long, and the
	// ones planned for the same patient meanwhile go in one message ("2m";
	// "" or "0" sends each at once).
	DigestWindow *string `json:"digest_window,omitempty"`
}

// QuietHours are "HH:MM" wall-clock times in the practice's time zone.
// Equal start and end mean no quiet hours.
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// ReminderConfig is ReminderSettings checked and with defaults applied.
type ReminderConfig struct {
	Offsets    []time.Duration
	QuietStart hub.Clock
	QuietEnd   hub.Clock
	Confirm    bool
	// EscalateAfter is 0 when escalation is off.
	EscalateAfter time.Duration
	// DigestWindow is 0 when notices are sent one by one.
	DigestWindow time.Duration
}

// Settings returns the config as the API shows it.
func (c ReminderConfig) Settings() ReminderSettings {
	offs := make([]string, 0, len(c.Offsets))
	for _, o := range c.Offsets {
		offs = append(offs, hub.OffsetLabel(o))
	}
	confirm := c.Confirm
	esc := "0"
	if c.EscalateAfter > 0 {
		esc = hub.OffsetLabel(c.EscalateAfter)
	}
	dig := "0"
	if c.DigestWindow > 0 {
		dig = hub.OffsetLabel(c.DigestWindow)
	}
	return ReminderSettings{Offsets: offs, QuietHours: &QuietHours{Start: c.QuietStart.String(), End: c.QuietEnd.String()},
		Confirm: &confirm, EscalateAfter: &esc, DigestWindow: &dig}
}

// MaxEscalateAfter bounds how long Karere waits for a portal item to be
// read before trying the next channel.
const MaxEscalateAfter = 7 * 24 * time.Hour

// MaxDigestWindow bounds how long a notice may wait for others to join it.
const MaxDigestWindow = time.Hour

// checkReminderSettings validates in; offsets below minOffset are refused
// (MinReminderOffset outside tests).
func checkReminderSettings(in ReminderSettings, minOffset time.Duration) (ReminderConfig, error) {
	c := ReminderConfig{Offsets: hub.DefaultReminderOffsets, QuietStart: hub.DefaultQuietStart, QuietEnd: hub.DefaultQuietEnd, Confirm: true}
	if in.Offsets != nil {
		if len(in.Offsets) == 0 || len(in.Offsets) > MaxReminderCount {
			return c, hub.Invalid("offsets", "invalid_offsets", "offsets: give 1 to %d offsets, such as [\"48h\", \"2h\"]", MaxReminderCount)
		}
		c.Offsets = nil
		seen := map[time.Duration]bool{}
		for i, s := range in.Offsets {
			field := "offsets[" + strconv.Itoa(i) + "]"
			d, err := time.ParseDuration(s)
			if err != nil || strings.HasPrefix(s, "-") {
				return c, hub.Invalid(field, "invalid_offset", "%s: %q is not a duration (use forms like 48h, 2h, 90m)", field, s)
			}
			if d < minOffset || d > MaxReminderOffset {
				return c, hub.Invalid(field, "invalid_offset", "%s: %s is outside %s to 14 days", field, s, hub.OffsetLabel(minOffset))
			}
			if d%time.Second != 0 {
				return c, hub.Invalid(field, "invalid_offset", "%s: use whole seconds", field)
			}
			if seen[d] {
				return c, hub.Invalid(field, "invalid_offset", "%s: %s is listed twice", field, s)
			}
			seen[d] = true
			c.Offsets = append(c.Offsets, d)
		}
	}
	if q := in.QuietHours; q != nil {
		var ok bool
		if c.QuietStart, ok = hub.ParseClock(q.Start); !ok {
			return c, hub.Invalid("quiet_hours.start", "invalid_time", "quiet_hours.start: use HH:MM, 24-hour (\"20:00\")")
		}
		if c.QuietEnd, ok = hub.ParseClock(q.End); !ok {
			return c, hub.Invalid("quiet_hours.end", "invalid_time", "quiet_hours.end: use HH:MM, 24-hour (\"08:00\")")
		}
	}
	if in.Confirm != nil {
		c.Confirm = *in.Confirm
	}
	if e := in.EscalateAfter; e != nil && *e != "" && *e != "0" {
		d, err := time.ParseDuration(*e)
		least := min(minOffset, 5*time.Minute)
		if err != nil || d < least || d > MaxEscalateAfter {
			return c, hub.Invalid("escalate_after", "invalid_escalate_after",
				"escalate_after: a duration from %s to 7 days (such as \"4h\"), or \"0\" for no escalation", hub.OffsetLabel(least))
		}
		c.EscalateAfter = d
	}
	if w := in.DigestWindow; w != nil && *w != "" && *w != "0" {
		d, err := time.ParseDuration(*w)
		least := min(minOffset, 30*time.Second)
		if err != nil || d < least || d > MaxDigestWindow {
			return c, hub.Invalid("digest_window", "invalid_digest_window",
				"digest_window: a duration from %s to 1 hour (such as \"2m\"), or \"0\" to send each notice at once", hub.OffsetLabel(least))
		}
		c.DigestWindow = d
	}
	return c, nil
}

// PutReminderSettings validates and stores the practice's reminder
// settings; existing appointments keep their planned reminders until they
// are next changed.
func (s *Service) PutReminderSettings(ctx context.Context, a hub.Actor, in ReminderSettings) (ReminderConfig, error) {
	c, err := checkReminderSettings(in, s.minOffset)
	if err != nil {
		return c, err
	}
	return c, s.Put(ctx, a, hub.SettingReminders, c.Settings())
}

// ReminderConfig returns the practice's reminder settings, defaults when
// none are stored.
func (s *Service) ReminderConfig(ctx context.Context, practiceID string) (ReminderConfig, error) {
	var in ReminderSettings
	if _, err := s.Get(ctx, practiceID, hub.SettingReminders, &in); err != nil {
		return ReminderConfig{}, err
	}
	// Stored settings were checked when written; a smaller minimum keeps
	// a test's short offsets readable after the hook is reset.
	return checkReminderSettings(in, time.Second)
}

var (
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164Re       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// SMSSettingsView is SMSSettings as the API shows it.
type SMSSettingsView struct {
	AccountSID          string `json:"account_sid"`
	AuthTokenSet        bool   `json:"auth_token_set"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	MaxSegments         int    `json:"max_segments,omitempty"`
	HelpText            string `json:"help_text,omitempty"`
}

// PutSMSSettings validates and stores the practice's Twilio settings. An
// empty AuthToken keeps the stored one.
func (s *Service) PutSMSSettings(ctx context.Context, a hub.Actor, in hub.SMSSettings) (SMSSettingsView, error) {
	var old hub.SMSSettings
	if _, err := s.Get(ctx, a.PracticeID, hub.SettingSMS, &old); err != nil {
		return SMSSettingsView{}, err
	}
	if !accountSIDRe.MatchString(in.AccountSID) {
		return SMSSettingsView{}, hub.Invalid("account_sid", "invalid_account_sid", "account_sid: AC followed by 32 hexadecimal digits")
	}
	if in.AuthToken == "" {
		if old.AuthToken == "" || old.AccountSID != in.AccountSID {
			return SMSSettingsView{}, hub.Invalid("auth_token", "missing_field", "auth_token: required (with a new account_sid too)")
		}
		in.AuthToken = old.AuthToken
	} else if len(in.AuthToken) < 16 || len(in.AuthToken) > 128 || strings.ContainsAny(in.AuthToken, " \t\r\n") {
		return SMSSettingsView{}, hub.Invalid("auth_token", "invalid_auth_token", "auth_token: 16-128 characters without spaces")
	}
	switch {
	case in.From == "" && in.MessagingServiceSID == "":
		return SMSSettingsView{}, hub.Invalid("from", "missing_field", "from: give a sender number (E.164) or a messaging_service_sid")
	case in.From != "" && !e164Re.MatchString(in.From):
		return SMSSettingsView{}, hub.Invalid("from", "invalid_phone", "from: an E.164 number such as +64211234567")
	case in.MessagingServiceSID != "" && !serviceSIDRe.MatchString(in.MessagingServiceSID):
		return SMSSettingsView{}, hub.Invalid("messaging_service_sid", "invalid_messaging_service_sid",
			"messaging_service_sid: MG followed by 32 hexadecimal digits")
	}
	if in.MaxSegments < 0 || in.MaxSegments > 10 {
		return SMSSettingsView{}, hub.Invalid("max_segments", "invalid_max_segments", "max_segments: 1 to 10 (0 or leave it out for the default)")
	}
	if utf8.RuneCountInString(in.HelpText) > 320 || !utf8.ValidString(in.HelpText) {
		return SMSSettingsView{}, hub.Invalid("help_text", "invalid_help_text", "help_text: at most 320 characters")
	}
	if err := s.Put(ctx, a, hub.SettingSMS, in); err != nil {
		return SMSSettingsView{}, err
	}
	return smsView(&in), nil
}

func smsView(v *hub.SMSSettings) SMSSettingsView {
	return SMSSettingsView{AccountSID: v.AccountSID, AuthTokenSet: v.AuthToken != "", From: v.From,
		MessagingServiceSID: v.MessagingServiceSID, MaxSegments: v.MaxSegments, HelpText: v.HelpText}
}

// SMSSettingsView returns the practice's Twilio settings without the
// token; found is false when none are set.
func (s *Service) SMSSettingsView(ctx context.Context, practiceID string) (SMSSettingsView, bool, error) {
	var v hub.SMSSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingSMS, &v)
	if err != nil || !ok {
		return SMSSettingsView{}, ok, err
	}
	return smsView(&v), true, nil
}

// EmailSettingsView is EmailSettings as the API shows it.
type EmailSettingsView struct {
	From              string `json:"from"`
	RelayHost         string `json:"relay_host,omitempty"`
	RelayPort         int    `json:"relay_port,omitempty"`
	TLS               string `json:"tls,omitempty"`
	Username          string `json:"username,omitempty"`
	PasswordSet       bool   `json:"password_set"`
	ReplyDomain       string `json:"reply_domain,omitempty"`
	DKIMDomain        string `json:"dkim_domain,omitempty"`
	DKIMSelector      string `json:"dkim_selector,omitempty"`
	DKIMPrivateKeySet bool   `json:"dkim_private_key_set"`
}

var hostRe = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

func checkHost(field, h string) error {
	if h == "" || len(h) > 253 || (!hostRe.MatchString(h) && net.ParseIP(h) == nil) {
		return hub.Invalid(field, "invalid_host", "%s: a host name such as smtp.example.nz", field)
	}
	return nil
}

// PutEmailSettings validates and stores the practice's email settings.
// An empty Password or DKIMPrivateKey keeps the stored one.
func (s *Service) PutEmailSettings(ctx context.Context, a hub.Actor, in hub.EmailSettings) (EmailSettingsView, error) {
	var old hub.EmailSettings
	if _, err := s.Get(ctx, a.PracticeID, hub.SettingEmail, &old); err != nil {
		return EmailSettingsView{}, err
	}
	if in.From == "" {
		return EmailSettingsView{}, hub.Invalid("from", "missing_field", "from: required (\"Kōwhai Health <noreply@kowhai.example.nz>\")")
	}
	if addr, err := mail.ParseAddress(in.From); err != nil || strings.ContainsAny(in.From, "\r\n") || !strings.Contains(addr.Address, "@") {
		return EmailSettingsView{}, hub.Invalid("from", "invalid_email", "from: not a valid address (\"Name <address@example.nz>\" or \"address@example.nz\")")
	}
	if in.RelayHost != "" {
		if err := checkHost("relay_host", in.RelayHost); err != nil {
			return EmailSettingsView{}, err
		}
	}
	if in.RelayPort < 0 || in.RelayPort > 65535 {
		return EmailSettingsView{}, hub.Invalid("relay_port", "invalid_port", "relay_port: 1 to 65535")
	}
	switch in.TLS {
	case "", "starttls", "implicit", "none":
	default:
		return EmailSettingsView{}, hub.Invalid("tls", "invalid_tls", "tls: one of starttls, implicit, none")
	}
	if in.RelayHost != "" {
		port := in.RelayPort
		if port == 0 {
			port = map[string]int{"": 587, "starttls": 587, "implicit": 465, "none": 25}[in.TLS]
		}
		if err := s.checkTarget(ctx, a, "relay_host", in.RelayHost, port); err != nil {
			return EmailSettingsView{}, err
		}
	}
	for _, f := range []struct{ name, v string }{{"reply_domain", in.ReplyDomain}, {"dkim_domain", in.DKIMDomain}} {
		if f.v != "" {
			if err := checkHost(f.name, f.v); err != nil {
				return EmailSettingsView{}, err
			}
		}
	}
	if in.DKIMSelector != "" && !hostRe.MatchString(in.DKIMSelector) {
		return EmailSettingsView{}, hub.Invalid("dkim_selector", "invalid_dkim_selector", "dkim_selector: letters, digits, '-' and '.'")
	}
	if in.Password == "" && in.Username != "" {
		in.Password = old.Password
	}
	if in.DKIMPrivateKey == "" {
		in.DKIMPrivateKey = old.DKIMPrivateKey
	} else if err := checkDKIMKey(in.DKIMPrivateKey); err != nil {
		return EmailSettingsView{}, err
	}
	if in.DKIMPrivateKey != "" && (in.DKIMDomain == "" || in.DKIMSelector == "") {
		field := "dkim_domain"
		if in.DKIMDomain != "" {
			field = "dkim_selector"
		}
		return EmailSettingsView{}, hub.Invalid(field, "missing_field", "%s: required with a DKIM key", field)
	}
	if err := s.Put(ctx, a, hub.SettingEmail, in); err != nil {
		return EmailSettingsView{}, err
	}
	return emailView(&in), nil
}

// checkDKIMKey accepts an RSA (at least 1024 bits) or Ed25519 private key
// in PEM, PKCS#1 or PKCS#8.
func checkDKIMKey(s string) error {
	if _, err := ParseDKIMKey(s); err != nil {
		return hub.Invalid("dkim_private_key", "invalid_dkim_key",
			"dkim_private_key: an RSA (1024 bits or more) or Ed25519 private key in PEM (PKCS#1 or PKCS#8)")
	}
	return nil
}

// ErrDKIMKey: a DKIM key that is not an RSA key of at least 1024 bits
// (RFC 8301: verifiers must refuse smaller keys) or an Ed25519 key, in
// PEM.
var ErrDKIMKey = errors.New("settings: DKIM key is not an RSA (at least 1024 bits, RFC 8301) or Ed25519 private key in PEM (PKCS#1 or PKCS#8)")

// ParseDKIMKey reads an RSA or Ed25519 private key from PEM: PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"). Saving the email
// settings checks a key with it, and the email channel signs with what it
// returns.
func ParseDKIMKey(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, ErrDKIMKey
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, ErrDKIMKey
	}
	if err != nil {
		return nil, ErrDKIMKey
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, ErrDKIMKey
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, ErrDKIMKey
}

func emailView(v *hub.EmailSettings) EmailSettingsView {
	return EmailSettingsView{From: v.From, RelayHost: v.RelayHost, RelayPort: v.RelayPort, TLS: v.TLS, Username: v.Username,
		PasswordSet: v.Password != "", ReplyDomain: v.ReplyDomain, DKIMDomain: v.DKIMDomain, DKIMSelector: v.DKIMSelector,
		DKIMPrivateKeySet: v.DKIMPrivateKey != ""}
}

// EmailSettingsView returns the practice's email settings without
// secrets; found is false when none are set.
func (s *Service) EmailSettingsView(ctx context.Context, practiceID string) (EmailSettingsView, bool, error) {
	var v hub.EmailSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingEmail, &v)
	if err != nil || !ok {
		return EmailSettingsView{}, ok, err
	}
	return emailView(&v), true, nil
}

// WebhookSettingsView is WebhookSettings as the API shows it.
type WebhookSettingsView struct {
	URL       string `json:"url"`
	SecretSet bool   `json:"secret_set"`
}

// PutWebhookSettings validates and stores the practice's webhook
// endpoint. The URL must be https (http only to a loopback host, for a
// PMS on the same machine and for tests). An empty Secret keeps the
// stored one.
func (s *Service) PutWebhookSettings(ctx context.Context, a hub.Actor, in hub.WebhookSettings) (WebhookSettingsView, error) {
	var old hub.WebhookSettings
	if _, err := s.Get(ctx, a.PracticeID, hub.SettingWebhooks, &old); err != nil {
		return WebhookSettingsView{}, err
	}
	u, err := url.Parse(in.URL)
	if in.URL == "" || err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || len(in.URL) > 2000 {
		return WebhookSettingsView{}, hub.Invalid("url", "invalid_url", "url: an absolute https URL without credentials")
	}
	host := u.Hostname()
	loopback := host == "localhost" || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return WebhookSettingsView{}, hub.Invalid("url", "invalid_url", "url: must be https (http only to a loopback host)")
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return WebhookSettingsView{}, hub.Invalid("url", "invalid_url", "url: the port must be 1 to 65535")
		}
	}
	if err := s.checkTarget(ctx, a, "url", host, port); err != nil {
		return WebhookSettingsView{}, err
	}
	if in.Secret == "" {
		in.Secret = old.Secret
	}
	if in.Secret == "" {
		return WebhookSettingsView{}, hub.Invalid("secret", "missing_field", "secret: required (at least 16 characters)")
	}
	if len(in.Secret) < 16 || len(in.Secret) > 256 {
		return WebhookSettingsView{}, hub.Invalid("secret", "invalid_secret", "secret: 16 to 256 characters")
	}
	if err := s.Put(ctx, a, hub.SettingWebhooks, in); err != nil {
		return WebhookSettingsView{}, err
	}
	return WebhookSettingsView{URL: in.URL, SecretSet: true}, nil
}

// checkTarget refuses a host the hub may not connect to (see
// TargetChecker) with 422 target_not_allowed. A name that does not resolve
// now is accepted: DNS may be down or not set up yet, and every connection
// is checked when it is made.
func (s *Service) checkTarget(ctx context.Context, a hub.Actor, field, host string, port int) error {
	err := s.targets.CheckHost(ctx, host, port)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, netguard.ErrRefused):
		s.log.Info("setting refused by the target policy", "practice", a.PracticeID, "field", field, "err", err)
		return hub.Unprocessable(field, "target_not_allowed",
			"%s: the hub may not connect to this host: it is or resolves to a loopback, private, link-local or "+
				"otherwise internal address, or to the hub itself. An on-premises server must be allowed by the "+
				"hub's operator (KARERE_ALLOWED_PRIVATE_TARGETS)", field)
	}
	s.log.Info("setting saved with a host that does not resolve now", "practice", a.PracticeID, "field", field)
	return nil
}

// WebhookSettingsView returns the practice's webhook endpoint without
// the secret; found is false when none is set.
func (s *Service) WebhookSettingsView(ctx context.Context, practiceID string) (WebhookSettingsView, bool, error) {
	var v hub.WebhookSettings
	ok, err := s.Get(ctx, practiceID, hub.SettingWebhooks, &v)
	if err != nil || !ok {
		return WebhookSettingsView{}, ok, err
	}
	return WebhookSettingsView{URL: v.URL, SecretSet: v.Secret != ""}, true, nil
}
