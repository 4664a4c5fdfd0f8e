package email

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/karerehub/karere/hub"
)

// ErrNotDSN is returned by ParseDSN for a message that is not a delivery
// status notification (multipart/report; report-type=delivery-status).
var ErrNotDSN = errors.New("email: not a delivery status notification")

// DSN is a delivery status notification (RFC 3464). Its addresses are
// patient data: never log them.
type DSN struct {
	ReportingMTA       string
	OriginalEnvelopeID string // the ENVID we sent: the delivery id, when the relay supports DSN
	// OriginalMessageID is the Message-ID of the returned message's
	// header, without angle brackets, when the report includes it.
	OriginalMessageID string
	Recipients        []DSNRecipient
}

// DSNRecipient is one per-recipient block of a DSN.
type DSNRecipient struct {
	// OriginalRecipient is the address as the hub gave it (ORCPT), when
	// the reporting MTA kept it: a forwarding address's bounce names the
	// patient's address here and another in FinalRecipient.
	OriginalRecipient string
	FinalRecipient    string // "rfc822; aroha@example.nz" without the type
	Action            string // failed, delayed, delivered, relayed, expanded (lowercase)
	Status            string // "5.1.1"
	DiagnosticCode    string // "smtp; 550 5.1.1 ..." as given
}

// Bounce returns the status of the first recipient whose delivery failed,
// and whether it is a hard bounce (5.x.x: stop using the address) or a soft
// one (4.x.x: gave up for now). ok is false when no delivery failed (a
// "delayed" or "delivered" report).
func (d *DSN) Bounce() (status string, hard bool, ok bool) {
	r := d.failed()
	if r == nil {
		return "", false, false
	}
	status = r.Status
	if status == "" {
		status = statusIn(r.DiagnosticCode)
	}
	if status == "" {
		status = "5.0.0"
	}
	return status, strings.HasPrefix(status, "5."), true
}

// failed is the first recipient whose delivery failed, or nil.
func (d *DSN) failed() *DSNRecipient {
	for i, r := range d.Recipients {
		if r.Action == "failed" {
			return &d.Recipients[i]
		}
	}
	return nil
}

// StatusUpdate is the hub.StatusUpdate recording d for a delivery, or ok
// false when d reports no failure.
func (d *DSN) StatusUpdate(deliveryID string, at time.Time) (u hub.StatusUpdate, ok bool) {
	status, hard, ok := d.Bounce()
	if !ok {
		return hub.StatusUpdate{}, false
	}
	r := d.failed()
	recipients := []string{} // not nil: the hub checks them against the patient's addresses
	for _, a := range []string{r.OriginalRecipient, r.FinalRecipient} {
		if a = strings.TrimSpace(a); a != "" {
			recipients = append(recipients, a)
		}
	}
	return hub.StatusUpdate{
		Channel:    hub.ChannelEmail,
		ProviderID: d.OriginalMessageID,
		DeliveryID: deliveryID,
		State:      hub.StateBounced,
		ErrorCode:  status,
		Permanent:  hard,
		At:         at,
		Recipients: recipients,
	}, true
}

var statusRe = regexp.MustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)

func statusIn(s string) string {
	if m := statusRe.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// ParseDSN reads a delivery status notification: a multipart/report with
// report-type delivery-status (or RFC 6533 global-delivery-status), its
// message/delivery-status part, and the Message-ID of the returned message
// or headers when included. Anything else is ErrNotDSN; a report that
// cannot be parsed is ErrMalformed.
func ParseDSN(r io.Reader) (dsn *DSN, err error) {
	defer func() {
		if p := recover(); p != nil {
			dsn, err = nil, fmt.Errorf("%w: parser panic", ErrMalformed)
		}
	}()
	e, err := message.Read(r)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	mt, params, _ := e.Header.ContentType()
	rt := strings.ToLower(params["report-type"])
	if mt != "multipart/report" || rt != "delivery-status" && rt != "global-delivery-status" {
		return nil, ErrNotDSN
	}
	mr := e.MultipartReader()
	if mr == nil {
		return nil, ErrNotDSN
	}
	d := &DSN{}
	found := false
	for n := 0; n < maxParts; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		pt, _, _ := p.Header.ContentType()
		switch strings.ToLower(pt) {
		case "message/delivery-status", "message/global-delivery-status":
			b, err := readLimited(p.Body, 256<<10)
			if err != nil {
				return nil, err
			}
			if err := parseDeliveryStatus(string(b), d); err != nil {
				return nil, err
			}
			found = true
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(p.Body, 256<<10)))
			if err == nil {
				mh := mail.Header{Header: message.Header{Header: h}}
				if id, err := mh.MessageID(); err == nil {
					d.OriginalMessageID = id
				}
			}
		}
		io.Copy(io.Discard, p.Body)
	}
	if !found {
		return nil, fmt.Errorf("%w: report without a delivery-status part", ErrMalformed)
	}
	return d, nil
}

// parseDeliveryStatus reads the per-message block and the per-recipient
// blocks of a message/delivery-status body (RFC 3464 section 2.1).
func parseDeliveryStatus(body string, d *DSN) error {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	type field struct {
		name  string
		value []string // the first line and its continuations
	}
	var blocks [][]field
	var cur []field
	for _, line := range strings.Split(body, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) > 0 {
				cur[len(cur)-1].value = append(cur[len(cur)-1].value, strings.TrimSpace(line))
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return fmt.Errorf("%w: delivery-status line without a field name", ErrMalformed)
			}
			cur = append(cur, field{strings.ToLower(strings.TrimSpace(k)), []string{strings.TrimSpace(v)}})
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	if len(blocks) < 2 {
		return fmt.Errorf("%w: delivery-status without a recipient block", ErrMalformed)
	}
	value := func(f field) string { return strings.Join(f.value, " ") }
	for _, f := range blocks[0] {
		switch f.name {
		case "reporting-mta":
			d.ReportingMTA = typedValue(value(f))
		case "original-envelope-id":
			d.OriginalEnvelopeID = value(f)
		}
	}
	for _, b := range blocks[1:] {
		var r DSNRecipient
		for _, f := range b {
			switch f.name {
			case "final-recipient":
				r.FinalRecipient = typedValue(value(f))
			case "original-recipient":
				r.OriginalRecipient = typedValue(value(f))
			case "action":
				r.Action = strings.ToLower(firstWord(value(f)))
			case "status":
				r.Status = statusIn(firstWord(value(f)))
			case "diagnostic-code":
				r.DiagnosticCode = value(f)
			}
		}
		if r.Action == "" {
			return fmt.Errorf("%w: recipient block without Action", ErrMalformed)
		}
		d.Recipients = append(d.Recipients, r)
	}
	return nil
}

// typedValue drops the "rfc822;" / "dns;" address type.
func typedValue(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(after)
	}
	return v
}

func firstWord(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
