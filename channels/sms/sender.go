package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
	"github.com/karerehub/karere/templates"
)

// Sender sends SMS through each practice's Twilio account, named by the
// message's SMS settings.
type Sender struct {
	publicURL  string
	httpClient *http.Client
	base       *url.URL // nil: api.twilio.com as twilio-go builds it
	baseErr    error
}

var (
	_ hub.Channel    = (*Sender)(nil)
	_ hub.Configurer = (*Sender)(nil)
)

// New returns a Sender. Call cfg.Validate first to report bad settings at
// start; a BaseURL that does not parse makes every Send fail permanently.
func New(cfg Config) *Sender {
	s := &Sender{
		publicURL:  trimPublicURL(cfg.PublicURL),
		httpClient: cfg.HTTPClient,
	}
	if s.httpClient == nil {
		s.httpClient = (*netguard.Guard)(nil).HTTPClient(DefaultTimeout)
	}
	if cfg.BaseURL != "" && cfg.BaseURL != DefaultBaseURL {
		s.base, s.baseErr = parseBaseURL(cfg.BaseURL)
	}
	return s
}

// Configured reports whether m's practice has a Twilio account and sender.
func (s *Sender) Configured(m *hub.Message) bool { return configured(m.SMS) }

// Send texts m.Text to m.To from the practice's sender (m.SMS).
//
// Permanent failures (hub.PermanentError reasons): "sms_not_configured",
// "invalid_number" (not a valid mobile number, checked before any call),
// "empty_body", "too_many_segments" (over the practice's MaxSegments,
// checked before any call), and Twilio's refusals (see classify).
// Everything else (network, timeouts, 429, 5xx) is temporary.
//
// Twilio's Messages API has no idempotency key: a Send repeated after a
// crash between Twilio's answer and the hub recording it texts twice.
func (s *Sender) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	if s.baseErr != nil {
		return hub.Receipt{}, hub.Permanent("provider_config", fmt.Errorf("sms: KARERE_TWILIO_BASE_URL: %w", s.baseErr))
	}
	practiceID := messagePractice(m)
	if practiceID == "" {
		return hub.Receipt{}, hub.Permanentf("invalid_message", "sms: message has no practice")
	}
	set := m.SMS
	if !configured(set) {
		return hub.Receipt{}, hub.Permanentf("sms_not_configured", "sms: practice has no Twilio account and sender configured")
	}

	to, err := normaliseMobile(m.To)
	if err != nil {
		return hub.Receipt{}, hub.Permanent("invalid_number", err)
	}
	seg := templates.Measure(m.Text)
	if seg.Segments == 0 {
		return hub.Receipt{}, hub.Permanentf("empty_body", "sms: empty text")
	}
	limit := set.MaxSegments
	if limit <= 0 {
		limit = DefaultMaxSegments
	}
	if seg.Segments > limit {
		return hub.Receipt{}, hub.Permanentf("too_many_segments",
			"sms: text is %d %s segments, the practice allows %d", seg.Segments, seg.Encoding, limit)
	}

	params := &openapi.CreateMessageParams{}
	params.SetTo(to)
	params.SetBody(m.Text)
	if set.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(set.MessagingServiceSID)
	} else {
		params.SetFrom(set.From)
	}
	if s.publicURL != "" {
		params.SetStatusCallback(s.statusCallback(practiceID))
	}

	rc, tr := s.restClient(ctx, set.AccountSID, set.AuthToken)
	resp, err := rc.Api.CreateMessage(params)
	if err != nil {
		if tr.status >= 200 && tr.status < 300 {
			return hub.Receipt{}, unreadableAnswer(tr.status, err)
		}
		return hub.Receipt{}, classify(err, tr.status)
	}
	if resp.Sid == nil || *resp.Sid == "" {
		return hub.Receipt{}, unreadableAnswer(tr.status, errors.New("sms: answer has no sid"))
	}
	return hub.Receipt{ProviderID: *resp.Sid}, nil
}

// unreadableAnswer is a success answer without a message sid. Twilio may
// have accepted the text, so retrying could send it again, and a systematic
// fault (a proxy mangling answers) would then text every patient once per
// retry: it is permanent, and staff see "provider_response".
func unreadableAnswer(status int, err error) error {
	return hub.Permanent("provider_response", hub.PublicWrap(fmt.Sprintf("sms: unreadable HTTP %d answer from Twilio", status), err))
}

// statusCallback is the URL Twilio posts delivery status to. Twilio signs
// exactly this URL, so the webhook verifies against it.
func (s *Sender) statusCallback(practiceID string) string {
	return s.publicURL + StatusPath + "?practice=" + url.QueryEscape(practiceID)
}

func messagePractice(m *hub.Message) string {
	if m.Practice != nil && m.Practice.ID != "" {
		return m.Practice.ID
	}
	if m.Delivery != nil {
		return m.Delivery.PracticeID
	}
	return ""
}

func configured(s *hub.SMSSettings) bool {
	return s != nil && s.AccountSID != "" && s.AuthToken != "" &&
		(s.From != "" || s.MessagingServiceSID != "")
}
