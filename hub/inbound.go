package hub

import "time"

// StatusUpdate is a provider's feedback about a sent delivery (a Twilio
// status callback, a bounce).
type StatusUpdate struct {
	Channel    string        // "sms" | "email"
	ProviderID string        // the id the provider gave at send time
	DeliveryID string        // when the provider echoes it back (bounces); else ""
	State      DeliveryState // delivered, undelivered, failed or bounced
	ErrorCode  string        // the provider's code ("30003", "5.1.1"), or ""
	Permanent  bool          // a hard bounce: stop using the address
	At         time.Time
	// Recipients are the addresses the report is about (a DSN's Original-
	// and Final-Recipient; never logged). Nil for feedback that names
	// none (a signed Twilio callback). When not nil, the update is applied
	// only if one of them is the patient's or guardian's email address: a
	// bounce for another address (forged by someone who saw the bounce
	// address, or for an address the patient has since changed) must not
	// stop email to the patient.
	Recipients []string
}

// InboundText is a plaintext reply a patient sent by SMS or email. The
// Service encrypts it on arrival to the thread's keys and drops the
// plaintext.
type InboundText struct {
	PracticeID string
	Via        string // "sms" | "email"
	From       string // E.164 number or email address (never logged)
	// ProviderID de-duplicates: Twilio's MessageSid, an email Message-ID.
	ProviderID string
	// ThreadID / DeliveryID are known when an email reply token names them.
	ThreadID   string
	DeliveryID string
	Text       string
	// Ciphertext is set instead of Text when the reply arrived already
	// encrypted (PGP/MIME): it is stored as it is after the recipient check.
	Ciphertext []byte
}

// ReplyResult says where an inbound reply landed.
type ReplyResult struct {
	ThreadID  string
	MessageID string
	// Duplicate is true when ProviderID was seen before: nothing was stored.
	Duplicate bool
}
