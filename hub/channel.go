package hub

import (
	"context"
	"errors"
	"fmt"
)

// Message is a rendered delivery, ready for a channel.
type Message struct {
	Delivery *Delivery
	Practice *Practice
	Patient  *Patient
	// To is the address on the delivery's channel: an E.164 number for sms,
	// an email address for email (the guardian's when the patient has one),
	// empty for portal.
	To      string
	Subject string // email only
	Text    string
	HTML    string // email only, optional
	// ThreadID is set when the message belongs to a secure-message thread
	// (a reply should land there).
	ThreadID string
	// Ciphertext, when set, is an OpenPGP message for the patient that a
	// channel able to carry it (PGP/MIME email) sends instead of Text.
	Ciphertext []byte
	// Unsubscribable marks bulk-ish notices that carry one-click unsubscribe.
	Unsubscribable bool

	// SMS and Email are the practice's settings for the channel, read by
	// the core when it composed the message (nil when the practice has
	// none: the channel then uses its own defaults or reports itself not
	// configured). A channel never calls back into the core mid-send.
	SMS   *SMSSettings
	Email *EmailSettings
}

// Receipt is a provider's acknowledgement of a send.
type Receipt struct {
	ProviderID string
}

// Channel reaches a patient one way. Implementations: channels/portal,
// channels/outbox, channels/sms, channels/email. hub/delivery consumes it.
type Channel interface {
	// Send hands m to the provider and returns its receipt. A temporary
	// failure (timeout, 429, 5xx, SMTP 4xx) is returned as is and will be
	// retried with backoff; a failure that no retry can mend is wrapped with
	// Permanent. Send may be called again for the same delivery after a
	// crash; channels that can should make that harmless.
	Send(ctx context.Context, m *Message) (Receipt, error)
}

// StoreChannel is the optional capability of a channel that only writes
// to Karere's own database (portal, outbox): SendInTx runs in the
// transaction that records the delivery sent, so the message is kept and
// the delivery marked sent together, or neither (and the retry is clean).
type StoreChannel interface {
	Channel
	// SendInTx keeps m in the transaction ctx carries (see Transactor): it
	// must use ctx for every store call and must not reach outside the
	// database.
	SendInTx(ctx context.Context, m *Message) (Receipt, error)
}

// ChannelFunc adapts a function to Channel.
type ChannelFunc func(ctx context.Context, m *Message) (Receipt, error)

// Send calls f.
func (f ChannelFunc) Send(ctx context.Context, m *Message) (Receipt, error) { return f(ctx, m) }

// PermanentError is a send failure that retrying cannot mend.
type PermanentError struct {
	// Reason is a short machine-readable code: "invalid_number",
	// "opted_out", "unsubscribed", "mailbox_unavailable"...
	Reason string
	Err    error
}

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent with a reason code.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

// Permanentf is Permanent with a formatted error, whose text API clients
// may see (see Public): never format a remote server's text into it.
func Permanentf(reason, format string, args ...any) error {
	return &PermanentError{Reason: reason, Err: Public(fmt.Errorf(format, args...))}
}

// IsPermanent reports whether err (or one it wraps) is permanent.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// Configurer is the optional capability of a provider channel that can
// tell, from a composed message (its SMS or Email settings), whether the
// practice has set the provider up. hub/delivery keeps a message for a
// channel that is not configured in the outbox instead.
type Configurer interface {
	Configured(m *Message) bool
}
