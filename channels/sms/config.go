package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// DefaultBaseURL is Twilio's REST API. It is configurable
// (KARERE_TWILIO_BASE_URL) so that tests and staging can point at a
// loopback or recording server.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one Twilio API call when Config.HTTPClient is nil.
// Message creation normally answers in well under a second; 15 s leaves room
// for a slow network without holding a worker for long.
const DefaultTimeout = 15 * time.Second

// DefaultMaxSegments applies when a practice sets no MaxSegments. A reminder
// fits in two GSM-7 segments; three leave room for te reo Māori with macrons,
// which turns a text into UCS-2 (67 characters a segment), while stopping a
// runaway template from sending (and billing) a ten-part text.
const DefaultMaxSegments = 3

// StatusPath and InboundPath are where Twilio calls Karere; both carry the
// practice id as ?practice=ID.
const (
	StatusPath  = "/v1/webhooks/twilio/status"
	InboundPath = "/v1/webhooks/twilio/sms"
)

// Settings looks up a practice's Twilio settings, to check the signature
// of a webhook (the core implements it).
type Settings interface {
	// SMSSettings returns the practice's settings. A practice without SMS
	// settings returns (nil, nil) or an error wrapping hub.ErrNoRows; any
	// other error is treated as temporary.
	SMSSettings(ctx context.Context, practiceID string) (*hub.SMSSettings, error)
}

// SettingsFunc adapts a function to Settings.
type SettingsFunc func(ctx context.Context, practiceID string) (*hub.SMSSettings, error)

// SMSSettings calls f.
func (f SettingsFunc) SMSSettings(ctx context.Context, practiceID string) (*hub.SMSSettings, error) {
	return f(ctx, practiceID)
}

// Config configures a Sender.
type Config struct {
	// BaseURL is Twilio's API base (KARERE_TWILIO_BASE_URL), default
	// DefaultBaseURL. Only scheme, host and an optional path prefix are used.
	BaseURL string
	// PublicURL is where Twilio reaches this hub (KARERE_PUBLIC_URL), e.g.
	// https://karere.example.nz. Status callbacks go to
	// PublicURL + StatusPath (none are asked for when it is empty).
	PublicURL string
	// HTTPClient makes the API calls. The hub passes its target guard's
	// client (netguard.Guard.HTTPClient), so that a base URL resolving to
	// loopback, private or the hub's own addresses is refused unless the
	// operator allow-listed it. Nil means a client with DefaultTimeout
	// under netguard's default policy (no allow-list); never
	// http.DefaultClient, which has no timeout and no policy.
	HTTPClient *http.Client
}

// Validate reports the first setting that is missing or malformed, naming
// the environment variable to fix.
func (c Config) Validate() error {
	if c.BaseURL != "" {
		if _, err := parseBaseURL(c.BaseURL); err != nil {
			return fmt.Errorf("sms: KARERE_TWILIO_BASE_URL: %w", err)
		}
	}
	if err := validatePublicURL(c.PublicURL); err != nil {
		return err
	}
	return nil
}

func validatePublicURL(s string) error {
	if s == "" {
		return errors.New("sms: KARERE_PUBLIC_URL is required: Twilio sends status callbacks and replies to it")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("sms: KARERE_PUBLIC_URL %q must be an absolute http(s) URL without query, e.g. https://karere.example.nz", s)
	}
	return nil
}

// parseBaseURL checks an API base URL and returns it without a trailing
// slash.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must be an absolute http(s) URL without query, e.g. %s", s, DefaultBaseURL)
	}
	return u, nil
}

// trimPublicURL returns PublicURL without a trailing slash, ready to have a
// path appended.
func trimPublicURL(s string) string { return strings.TrimRight(s, "/") }
