package hub

// Settings documents a practice keeps per kind (PUT /v1/settings/{kind}).
// They are stored encrypted at rest; secret fields are write-only in the
// API and never logged.

// SMSSettings configure the practice's Twilio account.
type SMSSettings struct {
	AccountSID          string `json:"account_sid"`
	AuthToken           string `json:"auth_token"` // secret
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	MaxSegments         int    `json:"max_segments,omitempty"`
	HelpText            string `json:"help_text,omitempty"`
}

// EmailSettings configure the practice's outgoing and reply mail.
type EmailSettings struct {
	From           string `json:"from"`
	RelayHost      string `json:"relay_host,omitempty"`
	RelayPort      int    `json:"relay_port,omitempty"`
	TLS            string `json:"tls,omitempty"` // starttls | implicit | none
	Username       string `json:"username,omitempty"`
	Password       string `json:"password,omitempty"` // secret
	ReplyDomain    string `json:"reply_domain,omitempty"`
	DKIMDomain     string `json:"dkim_domain,omitempty"`
	DKIMSelector   string `json:"dkim_selector,omitempty"`
	DKIMPrivateKey string `json:"dkim_private_key,omitempty"` // secret, PEM
}

// Setting kinds.
const (
	SettingSMS       = "sms"
	SettingEmail     = "email"
	SettingReminders = "reminders"
	SettingWebhooks  = "webhooks"
)

// WebhookSettings say where the practice's PMS takes events. Secret signs
// each event; it is write-only.
type WebhookSettings struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}
