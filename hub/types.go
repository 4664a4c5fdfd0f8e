package hub

import (
	"time"
)

// Channel names. A patient's preferred channels are an ordered list of these.
const (
	ChannelPortal = "portal"
	ChannelSMS    = "sms"
	ChannelEmail  = "email"
	// ChannelOutbox keeps what would have been sent. It is used when no
	// provider is configured and for every delivery made with a test key.
	ChannelOutbox = "outbox"
)

// PatientChannels are the channels a patient may list as preferred.
var PatientChannels = []string{ChannelPortal, ChannelSMS, ChannelEmail}

// DeliveryState is where a delivery is in its life.
type DeliveryState string

// Delivery states.
const (
	StatePending     DeliveryState = "pending"
	StateSent        DeliveryState = "sent"
	StateDelivered   DeliveryState = "delivered"
	StateFailed      DeliveryState = "failed"
	StateUndelivered DeliveryState = "undelivered"
	StateBounced     DeliveryState = "bounced"
	StateCancelled   DeliveryState = "cancelled"
)

// Valid reports whether s is a known state.
func (s DeliveryState) Valid() bool {
	switch s {
	case StatePending, StateSent, StateDelivered, StateFailed, StateUndelivered, StateBounced, StateCancelled:
		return true
	}
	return false
}

// KeyMode is the mode of a practice API key. A test key runs the whole
// pipeline but every delivery goes to the outbox channel.
type KeyMode string

// API key modes.
const (
	ModeLive KeyMode = "live"
	ModeTest KeyMode = "test"
)

// Practice is a tenant: a general practice.
type Practice struct {
	ID       string
	Name     string
	TimeZone string // IANA name, e.g. Pacific/Auckland
	Phone    string
	Created  time.Time
}

// APIKey is a practice's bearer key. Only a hash of the secret is stored.
type APIKey struct {
	ID         string // public key id, part of the key string
	PracticeID string
	Mode       KeyMode
	SecretHash []byte // SHA-256 of the secret part
	Label      string
	Created    time.Time
	Revoked    *time.Time
}

// Staff is a practice staff member who signs in to the inbox.
type Staff struct {
	ID           string
	PracticeID   string
	Email        string
	Name         string
	PasswordHash string // argon2id, PHC string format
	Created      time.Time
}

// Patient is a person a practice sends to. ExternalID is the practice
// management system's id; ID is Karere's.
type Patient struct {
	ID          string
	PracticeID  string
	ExternalID  string
	GivenName   string
	FamilyName  string
	Phone       string // E.164, or empty
	Email       string // or empty
	Channels    []string
	Locale      string
	DateOfBirth string // YYYY-MM-DD, or empty
	Guardian    *Guardian
	// KindOptOuts: for a kind of notice, the channels the patient does
	// not want it on (all of their channels: not at all).
	KindOptOuts map[string][]string
	// EncryptedEmail: the patient registered a key and chose to receive
	// secure messages as PGP/MIME email.
	EncryptedEmail bool
	SMSOptOut      *time.Time // when the number texted STOP, nil when opted in
	EmailOptOut    *time.Time
	Created        time.Time
	Updated        time.Time
}

// Guardian receives a dependant patient's notices: always for a child
// under GuardianAge, and for an adult who has made them their proxy.
type Guardian struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	// Proxy: the (adult) patient asked for their notices to go to this
	// person.
	Proxy bool `json:"proxy,omitempty"`
}

// OptedOutOf reports whether the patient does not want kind on channel.
func (p *Patient) OptedOutOf(kind, channel string) bool {
	for _, c := range p.KindOptOuts[kind] {
		if c == channel {
			return true
		}
	}
	return false
}

// GuardianAge: notices for a patient younger than this go to their
// guardian.
const GuardianAge = 16

// GuardianReceives reports whether the patient's notices go to their
// guardian at time now.
func (p *Patient) GuardianReceives(now time.Time) bool {
	if p.Guardian == nil {
		return false
	}
	if p.Guardian.Proxy {
		return true
	}
	dob, err := time.Parse("2006-01-02", p.DateOfBirth)
	if err != nil {
		return true // a guardian was given and the age is unknown: err towards the guardian
	}
	return now.Before(dob.AddDate(GuardianAge, 0, 0))
}

// Notice is one message to a patient, of a kind (KindNotice,
// appointment_reminder, prescription_ready...): what its deliveries carry,
// rendered from the practice's template for the kind.
type Notice struct {
	ID         string
	PracticeID string
	PatientID  string
	Kind       string
	Text       string      // KindNotice's text; empty for templated kinds
	Data       *NoticeData // the facts templated kinds are rendered from
	Channels   []string    // the planned order: first delivery, then fallbacks
	Mode       KeyMode
	Created    time.Time
}

// NoticeData are the facts of a templated notice (stored as JSON).
type NoticeData struct {
	AppointmentID  string    `json:"appointment_id,omitempty"`
	PrescriptionID string    `json:"prescription_id,omitempty"` // the PMS's id
	Start          time.Time `json:"start,omitzero"`
	Clinician      string    `json:"clinician,omitempty"`
	Location       string    `json:"location,omitempty"`
	Pharmacy       string    `json:"pharmacy,omitempty"`
	Pickup         string    `json:"pickup,omitempty"`
	CollectBy      time.Time `json:"collect_by,omitzero"`
	// AsksConfirmation: an SMS reminder that asks "reply Y or N".
	AsksConfirmation bool `json:"asks_confirmation,omitempty"`
}

// Delivery is one attempt to reach a patient on one channel.
type Delivery struct {
	ID         string
	PracticeID string
	PatientID  string
	NoticeID   string // the record this delivery carries
	Channel    string
	Kind       string
	Mode       KeyMode
	State      DeliveryState
	Attempts   int
	ProviderID string
	LastError  string
	// Fallbacks are the channels still to try, in order, if this one fails
	// permanently.
	Fallbacks []string
	NotBefore time.Time // zero: as soon as possible
	// EscalatesFrom is the portal delivery this one escalates: it goes out
	// at NotBefore only if that portal item is still unread.
	EscalatesFrom string
	// DigestInto names the delivery this one rides along in (the
	// practice's digest window): it is sent, or fails, with that one.
	DigestInto string
	Created    time.Time
	Updated    time.Time
	// TemplateVersion is the practice template version the delivery was
	// last rendered from; 0 for a built-in default or not rendered yet.
	TemplateVersion int
}

// InboxItem is what the portal channel delivered to a patient's portal
// inbox.
type InboxItem struct {
	ID         string
	PracticeID string
	PatientID  string
	DeliveryID string // unique: a retried portal send stores one item
	Kind       string
	Text       string
	ThreadID   string
	Created    time.Time
	ReadAt     *time.Time
}

// OutboxItem is what the outbox channel kept instead of sending.
type OutboxItem struct {
	ID         string
	PracticeID string
	DeliveryID string // unique
	Channel    string // the channel it stood in for
	To         string
	Subject    string
	Text       string
	Created    time.Time
}

// AuditEvent records who read or changed patient data, and every send. It
// never holds content.
type AuditEvent struct {
	ID         string
	PracticeID string
	Actor      string // "key:<id>", "staff:<id>", "worker", "webhook:twilio"...
	Action     string // "patient.put", "notice.create", "delivery.sent"...
	PatientID  string
	Subject    string // the id of the record acted on
	Source     string // remote address, or empty
	At         time.Time
}

// IdempotentResponse is the stored first answer to a call made with an
// Idempotency-Key.
type IdempotentResponse struct {
	RequestHash []byte
	Status      int
	Body        []byte
}

// Kinds of notice: what a delivery carries. KindNotice is a plain notice
// with the practice's own text; the others are rendered from the
// practice's template for the kind (templates/defaults has each for every
// channel).
const (
	KindNotice               = "notice"
	KindSecureMessageNotice  = "secure_message_notice"
	KindAppointmentReminder  = "appointment_reminder"
	KindAppointmentCancelled = "appointment_cancelled"
	KindPrescriptionReady    = "prescription_ready"
)

// NoticeKinds are the kinds a patient may opt out of.
var NoticeKinds = []string{KindNotice, KindAppointmentReminder, KindAppointmentCancelled,
	KindPrescriptionReady, KindSecureMessageNotice}

// DefaultLocale is used when a patient has none.
const DefaultLocale = "en-NZ"

// DefaultTimeZone is where most Karere practices are.
const DefaultTimeZone = "Pacific/Auckland"

// Address returns where a channel reaches the patient at time now: the
// guardian's number or address when the guardian receives the patient's
// notices; "" for the portal or when there is none.
func (p *Patient) Address(channel string, now time.Time) string {
	g := p.GuardianReceives(now)
	switch channel {
	case ChannelSMS:
		if g {
			return p.Guardian.Phone
		}
		return p.Phone
	case ChannelEmail:
		if g {
			return p.Guardian.Email
		}
		return p.Email
	}
	return ""
}

// FirstReachable returns the first of chans that reaches the patient for
// kind (an address, or the portal, and no opt-out), and the channels after
// it; "" when none does.
func (p *Patient) FirstReachable(kind string, chans []string, now time.Time) (string, []string) {
	for i, c := range chans {
		if p.OptedOutOf(kind, c) {
			continue
		}
		if p.Address(c, now) != "" || c == ChannelPortal {
			return c, append([]string(nil), chans[i+1:]...)
		}
	}
	return "", nil
}

// OptedOutOfAll reports whether the patient opted out of kind on every
// one of chans.
func (p *Patient) OptedOutOfAll(kind string, chans []string) bool {
	for _, c := range chans {
		if !p.OptedOutOf(kind, c) {
			return false
		}
	}
	return true
}
