package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-x, Windows-125x... for replies
	"github.com/emersion/go-message/mail"
)

// ErrMalformed is returned for a message that cannot be parsed as MIME.
var ErrMalformed = errors.New("email: malformed message")

// Limits on what a reply may carry: a patient's reply is short text; an
// encrypted one a little more.
const (
	maxTextBytes       = 1 << 20
	maxCiphertextBytes = 8 << 20
	maxParts           = 100
)

// reply is what an inbound reply says.
type reply struct {
	text       string
	ciphertext []byte
	messageID  string
	from       string // the From address, or ""
	auto       bool   // an automatic answer (RFC 3834), not the patient
}

// ParseReply reads a patient's reply: its new text (plain text preferred,
// else HTML reduced to text, then StripQuoted), or the ciphertext of a
// PGP/MIME (RFC 3156) or inline-armored OpenPGP reply (dearmored), and its
// Message-ID without angle brackets (a hash of the message when it has
// none, so a redelivery has the same id). text is "" when the reply holds
// nothing new. A message that is not valid MIME is ErrMalformed.
func ParseReply(r io.Reader) (text string, ciphertext []byte, messageID string, err error) {
	rep, err := parseReply(r)
	if err != nil {
		return "", nil, "", err
	}
	return rep.text, rep.ciphertext, rep.messageID, nil
}

func parseReply(r io.Reader) (rep *reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("%w: parser panic", ErrMalformed)
		}
	}()
	h := sha256.New()
	tr := io.TeeReader(r, h)
	mr, err := mail.CreateReader(tr)
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	rep = &reply{}
	if id, err := mr.Header.MessageID(); err == nil && id != "" && len(id) <= 250 {
		rep.messageID = id
	}
	if addrs, err := mr.Header.AddressList("From"); err == nil && len(addrs) > 0 {
		rep.from = addrs[0].Address
	}
	rep.auto = isAutoReply(mr.Header)
	top, _, _ := mr.Header.ContentType()
	encrypted := top == "multipart/encrypted"

	var plain, htmlBody string
	var havePlain, haveHTML, sawPGPVersion bool
	for n := 0; ; n++ {
		if n > maxParts {
			return nil, fmt.Errorf("%w: too many parts", ErrMalformed)
		}
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		ct, disp := partType(p.Header)
		switch {
		case ct == "application/pgp-encrypted":
			sawPGPVersion = true
		case ct == "application/octet-stream" && (encrypted || sawPGPVersion) && rep.ciphertext == nil:
			b, err := readLimited(p.Body, maxCiphertextBytes)
			if err != nil {
				return nil, err
			}
			if rep.ciphertext, err = dearmor(b); err != nil {
				return nil, err
			}
			continue
		case disp == "attachment":
		case ct == "text/plain" && !havePlain:
			b, err := readLimited(p.Body, maxTextBytes)
			if err != nil {
				return nil, err
			}
			plain, havePlain = string(b), true
			continue
		case ct == "text/html" && !haveHTML:
			b, err := readLimited(p.Body, maxTextBytes)
			if err != nil {
				return nil, err
			}
			htmlBody, haveHTML = string(b), true
			continue
		}
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if encrypted && rep.ciphertext == nil {
		return nil, fmt.Errorf("%w: multipart/encrypted without an encrypted part", ErrMalformed)
	}
	if rep.ciphertext == nil && havePlain && strings.HasPrefix(strings.TrimSpace(plain), armorHeader) {
		// Inline OpenPGP (older clients): the whole text part is the message.
		if c, err := dearmor([]byte(plain)); err == nil {
			rep.ciphertext = c
		}
	}
	if rep.ciphertext == nil {
		text := plain
		if !havePlain || strings.TrimSpace(plain) == "" && haveHTML {
			text = htmlToText(htmlBody)
		}
		rep.text = StripQuoted(strings.ToValidUTF8(text, "\uFFFD"))
	}
	if rep.messageID == "" {
		io.Copy(io.Discard, tr)
		rep.messageID = "sha256-" + hex.EncodeToString(h.Sum(nil)) + "@karere.invalid"
	}
	return rep, nil
}

// partType returns a part's media type and disposition, lowercase.
func partType(h mail.PartHeader) (mediaType, disposition string) {
	var mh *message.Header
	switch h := h.(type) {
	case *mail.InlineHeader:
		mh = &h.Header
	case *mail.AttachmentHeader:
		mh = &h.Header
	default:
		return "", ""
	}
	mediaType, _, err := mh.ContentType()
	if err != nil || mediaType == "" {
		mediaType = "text/plain" // RFC 2045 section 5.2
	}
	disposition, _, _ = mh.ContentDisposition()
	return strings.ToLower(mediaType), strings.ToLower(disposition)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: part too large", ErrMalformed)
	}
	return b, nil
}

// dearmor returns the binary OpenPGP message in b: decoded when armored
// ("PGP MESSAGE"), as it is when it already is binary (a packet tag has its
// high bit set).
func dearmor(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0]&0x80 != 0 {
		return t, nil
	}
	blk, err := armor.Decode(bytes.NewReader(t))
	if err != nil || blk.Type != "PGP MESSAGE" {
		return nil, fmt.Errorf("%w: encrypted part is not an OpenPGP message", ErrMalformed)
	}
	out, err := readLimited(blk.Body, maxCiphertextBytes)
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("%w: encrypted part is not an OpenPGP message", ErrMalformed)
	}
	return out, nil
}

// isAutoReply reports automatic answers (RFC 3834 and common markers):
// out-of-office notices sent to Reply-To must not become thread messages.
func isAutoReply(h mail.Header) bool {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return true
	}
	if h.Has("X-Autoreply") || h.Has("X-Autorespond") || h.Has("X-Autoresponse") {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "auto_reply", "list":
		return true
	}
	return false
}
