package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message"
	"github.com/karerehub/karere/hub"
)

// Permanent error reasons for messages that cannot be built.
const (
	ReasonInvalidAddress    = "invalid_address"
	ReasonInvalidHeader     = "invalid_header"
	ReasonInvalidCiphertext = "invalid_ciphertext"
)

var (
	errInvalidAddress = errors.New("email: not a single plain email address")
	errInvalidHeader  = errors.New("email: header value has line breaks, control characters or is too long")
)

// outgoing is a message ready to be composed: every field validated.
type outgoing struct {
	fromName, from string
	to             string
	replyTo        string // "" for none
	messageID      string // without angle brackets
	date           time.Time
	subject        string
	text, html     string
	ciphertext     []byte
	unsubscribeURL string // "" for none
}

// composeMessage renders o as RFC 5322 bytes with CRLF line ends, and lists
// the header fields present that a DKIM signature should cover.
func composeMessage(o *outgoing) ([]byte, []string, error) {
	boundary, err := newBoundary()
	if err != nil {
		return nil, nil, err
	}

	type field struct{ k, v string }
	fields := []field{
		{"Date", o.date.Format(time.RFC1123Z)},
		{"From", (&netmail.Address{Name: o.fromName, Address: o.from}).String()},
		{"To", "<" + o.to + ">"},
		{"Subject", mime.QEncoding.Encode("utf-8", o.subject)},
		{"Message-Id", "<" + o.messageID + ">"},
	}
	if o.replyTo != "" {
		fields = append(fields, field{"Reply-To", "<" + o.replyTo + ">"})
	}
	if o.unsubscribeURL != "" {
		fields = append(fields,
			field{"List-Unsubscribe", "<" + o.unsubscribeURL + ">"},
			field{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"})
	}
	// Exchange and Outlook honour this and send no out-of-office answers,
	// which would otherwise arrive as replies in the thread.
	fields = append(fields, field{"X-Auto-Response-Suppress", "OOF, AutoReply"})
	fields = append(fields, field{"Mime-Version", "1.0"})
	switch {
	case o.ciphertext != nil:
		fields = append(fields, field{"Content-Type", mime.FormatMediaType("multipart/encrypted",
			map[string]string{"protocol": "application/pgp-encrypted", "boundary": boundary})})
	case o.html != "":
		fields = append(fields, field{"Content-Type", mime.FormatMediaType("multipart/alternative",
			map[string]string{"boundary": boundary})})
	default:
		fields = append(fields,
			field{"Content-Type", "text/plain; charset=utf-8"},
			field{"Content-Transfer-Encoding", "quoted-printable"})
	}

	// textproto writes fields last added first.
	var h message.Header
	var keys []string
	for i := len(fields) - 1; i >= 0; i-- {
		h.Add(fields[i].k, fields[i].v)
	}
	for _, f := range fields {
		switch f.k {
		case "X-Auto-Response-Suppress", "Content-Transfer-Encoding":
		default:
			keys = append(keys, f.k)
		}
	}

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case o.ciphertext != nil:
		err = writePGPMIME(w, o.ciphertext)
	case o.html != "":
		if err = writeTextPart(w, "text/plain", o.text); err == nil {
			err = writeTextPart(w, "text/html", o.html)
		}
	default:
		_, err = w.Write([]byte(o.text))
	}
	if err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return toCRLF(buf.Bytes()), keys, nil
}

func writeTextPart(w *message.Writer, mediaType, body string) error {
	var h message.Header
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	h.Set("Content-Type", mediaType+"; charset=utf-8")
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := pw.Write([]byte(body)); err != nil {
		return err
	}
	return pw.Close()
}

// writePGPMIME writes the two parts of RFC 3156 section 4.
func writePGPMIME(w *message.Writer, ciphertext []byte) error {
	armored, err := armorMessage(ciphertext)
	if err != nil {
		return err
	}
	var h1 message.Header
	h1.Set("Content-Description", "PGP/MIME version identification")
	h1.Set("Content-Type", "application/pgp-encrypted")
	pw, err := w.CreatePart(h1)
	if err != nil {
		return err
	}
	if _, err := pw.Write([]byte("Version: 1\r\n")); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}

	var h2 message.Header
	h2.Set("Content-Disposition", `inline; filename="encrypted.asc"`)
	h2.Set("Content-Description", "OpenPGP encrypted message")
	h2.Set("Content-Type", `application/octet-stream; name="encrypted.asc"`)
	pw, err = w.CreatePart(h2)
	if err != nil {
		return err
	}
	if _, err := pw.Write(armored); err != nil {
		return err
	}
	return pw.Close()
}

const armorHeader = "-----BEGIN PGP MESSAGE-----"

// armorMessage returns ciphertext ASCII-armored (RFC 4880 section 6): as it
// is when it already is, else encoded as a "PGP MESSAGE".
func armorMessage(ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, hub.Permanent(ReasonInvalidCiphertext, errors.New("email: empty ciphertext"))
	}
	if bytes.HasPrefix(bytes.TrimSpace(ciphertext), []byte(armorHeader)) {
		for _, b := range ciphertext {
			if b >= 0x80 || (b < 0x20 && b != '\r' && b != '\n' && b != '\t') {
				return nil, hub.Permanent(ReasonInvalidCiphertext, errors.New("email: armored ciphertext is not ASCII"))
			}
		}
		return toCRLF(bytes.TrimSpace(ciphertext)), nil
	}
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	if _, err := aw.Write(ciphertext); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return toCRLF(buf.Bytes()), nil
}

// toCRLF turns every line end (LF or CRLF) into CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/40)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func newBoundary() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "karere-" + hex.EncodeToString(b[:]), nil
}

// parseAddress accepts one plain address (optionally with a display name,
// which is dropped) whose local part is a dot-atom and whose domain is an
// ASCII host name: nothing that could break a header or an SMTP command.
func parseAddress(s string) (string, error) {
	if s == "" || len(s) > 320 || strings.ContainsAny(s, "\r\n\x00") {
		return "", errInvalidAddress
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return "", errInvalidAddress
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || !validLocalPart(local) || !validDomain(domain) || !strings.Contains(domain, ".") {
		return "", errInvalidAddress
	}
	return a.Address, nil
}

// validLocalPart accepts an RFC 5322 dot-atom of at most 64 octets.
func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkHeaderText refuses what could end a header field or confuse a reader:
// line breaks and other control characters, invalid UTF-8, and values
// longer than a header line may be.
func checkHeaderText(s string) error {
	if len(s) > 900 || !utf8.ValidString(s) {
		return errInvalidHeader
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return errInvalidHeader
		}
	}
	return nil
}

// checkIDText accepts an id usable in a Message-ID and an ENVID: letters,
// digits, '_', '-' and '.'.
func checkIDText(s string) error {
	if s == "" || len(s) > 128 {
		return fmt.Errorf("email: bad delivery id: %w", errInvalidHeader)
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '.') {
			return fmt.Errorf("email: bad delivery id: %w", errInvalidHeader)
		}
	}
	return nil
}
