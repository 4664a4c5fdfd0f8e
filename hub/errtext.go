package hub

import (
	"errors"
	"strings"

	"github.com/karerehub/karere/internal/netguard"
)

// What an API client is shown of a failure (a delivery's or a webhook
// event's last_error) must not help it map the networks the hub reaches: a
// remote server's banner or error text, an address or an errno would tell
// an open port from a closed one. So an error's own text (which may quote
// all of those) goes only to the operator's logs, and ErrorText shows a
// reason code and either a text Karere wrote (marked with Public or
// PublicWrap, or an error with a PublicText method) or one of netguard's
// three uniform texts: "connection failed", "timed out", "refused by
// target policy".

// MaxErrorText bounds ErrorText.
const MaxErrorText = 500

// PublicTexter is the optional interface of an error that can describe
// itself to API clients without quoting a remote server (an SMTP reply
// reduced to its codes, a Twilio error code).
type PublicTexter interface {
	// PublicText is a description written by Karere: no remote text, no
	// address, no patient data.
	PublicText() string
}

// ErrorText is what API clients and staff see as a delivery's or a
// webhook event's last error: the reason code, then PublicText(err), at
// most MaxErrorText bytes.
func ErrorText(reason string, err error) string {
	msg := reason
	if err != nil {
		msg += ": " + PublicText(err)
	}
	if len(msg) > MaxErrorText {
		msg = strings.ToValidUTF8(msg[:MaxErrorText], "")
	}
	return msg
}

// PublicText describes err for API clients: the PublicText of the first
// error in its chain that has one, else netguard.Classify's uniform text
// ("connection failed", "timed out" or "refused by target policy").
func PublicText(err error) string {
	var pt PublicTexter
	if errors.As(err, &pt) {
		if t := pt.PublicText(); t != "" {
			return t
		}
	}
	return netguard.Classify(err)
}

// Public marks err's whole text as fit for API clients: Karere wrote it,
// and it quotes nothing a remote server said. Permanentf marks its text so.
func Public(err error) error {
	if err == nil {
		return nil
	}
	return &publicError{text: err.Error(), err: err}
}

// PublicWrap returns an error whose public text is text and which wraps
// err (kept for the logs and errors.Is): "relay refused rcpt (550 5.1.1)"
// around the relay's full answer.
func PublicWrap(text string, err error) error {
	return &publicError{text: text, err: err, wraps: true}
}

type publicError struct {
	text  string
	err   error
	wraps bool // Error adds err's text
}

func (e *publicError) Error() string {
	if e.wraps && e.err != nil {
		return e.text + ": " + e.err.Error()
	}
	return e.text
}

func (e *publicError) Unwrap() error      { return e.err }
func (e *publicError) PublicText() string { return e.text }
