package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/netguard"
)

// Permanent error reasons of Send (besides those of message building).
const (
	ReasonNotConfigured      = "email_not_configured"
	ReasonInvalidMessage     = "invalid_message"
	ReasonMailboxUnavailable = "mailbox_unavailable" // 5xx to RCPT: no such user, mailbox disabled
	ReasonTooLarge           = "message_too_large"
	ReasonSenderRejected     = "sender_rejected" // 5xx to MAIL FROM: the relay refuses our sender
	ReasonAuthFailed         = "relay_auth_failed"
	ReasonRejected           = "rejected" // any other 5xx (content, policy)
)

// Sender sends deliveries by SMTP. It is safe for concurrent use.
type Sender struct {
	cfg  Config
	keys keyCache

	mu     sync.Mutex
	pools  map[poolKey]*pool
	closed bool
}

var (
	_ hub.Channel    = (*Sender)(nil)
	_ hub.Configurer = (*Sender)(nil)
)

// New returns a Sender. cfg should have passed Validate; unset durations
// and sizes take the Default values.
func New(cfg Config) *Sender {
	return &Sender{cfg: cfg.withDefaults(), pools: make(map[poolKey]*pool)}
}

// Send renders m, signs it and submits it to the practice's relay (m.Email,
// or the defaults of Config where it sets none). The
// receipt's ProviderID is the Message-ID (without angle brackets), which is
// the same for every attempt of a delivery. Errors: SMTP 4xx, network and
// TLS failures are returned as they are (retry later); 5xx answers and
// messages that cannot be built are hub.Permanent.
func (s *Sender) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	if m == nil || m.Delivery == nil {
		return hub.Receipt{}, hub.Permanentf(ReasonInvalidMessage, "email: message without delivery")
	}
	prof, err := s.profile(m.Email)
	if err != nil {
		return hub.Receipt{}, err
	}
	o, envFrom, err := s.prepare(m, prof)
	if err != nil {
		return hub.Receipt{}, err
	}
	msg, keys, err := composeMessage(o)
	if err != nil {
		if hub.IsPermanent(err) {
			return hub.Receipt{}, err
		}
		return hub.Receipt{}, fmt.Errorf("email: composing message: %w", err)
	}
	if prof.dkimDomain != "" {
		key, err := s.keys.get(prof.dkimKey)
		if err != nil {
			return hub.Receipt{}, hub.Permanent(ReasonDKIMKey, err)
		}
		if msg, err = signDKIM(msg, prof.dkimDomain, prof.dkimSelector, key, keys); err != nil {
			return hub.Receipt{}, hub.Permanent(ReasonDKIMKey, fmt.Errorf("email: DKIM signing: %w", err))
		}
	}
	if err := s.submit(ctx, prof.ep, envFrom, o.to, m.Delivery.ID, msg); err != nil {
		return hub.Receipt{}, err
	}
	return hub.Receipt{ProviderID: o.messageID}, nil
}

// profile is a practice's effective settings.
type profile struct {
	ep                                relayEndpoint
	from                              string
	replyDomain                       string
	dkimDomain, dkimSelector, dkimKey string
}

// Configured reports whether m can be sent: the practice's settings (or
// the defaults of Config) give a From address and a relay.
func (s *Sender) Configured(m *hub.Message) bool {
	es := m.Email
	if es == nil {
		es = &hub.EmailSettings{}
	}
	return (es.From != "" || s.cfg.DefaultFrom != "") && (es.RelayHost != "" || s.cfg.DefaultRelay != "")
}

// profile is the practice's settings es (nil: none) over the defaults.
func (s *Sender) profile(es *hub.EmailSettings) (*profile, error) {
	if es == nil {
		es = &hub.EmailSettings{}
	}
	p := &profile{from: es.From, replyDomain: es.ReplyDomain}
	if p.from == "" {
		p.from = s.cfg.DefaultFrom
	}
	if p.replyDomain == "" {
		p.replyDomain = s.cfg.ReplyDomain
	}
	if p.from == "" {
		return nil, hub.Permanentf(ReasonNotConfigured, "email: no From address: set the practice's email settings or KARERE_SMTP_FROM")
	}
	switch {
	case es.RelayHost != "":
		mode := es.TLS
		if mode == "" {
			mode = TLSStartTLS
		}
		port := es.RelayPort
		if port == 0 {
			port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[mode]
		}
		if port <= 0 || port > 65535 || strings.ContainsAny(es.RelayHost, " /\r\n") {
			return nil, hub.Permanentf(ReasonNotConfigured, "email: the practice's relay host or port is invalid")
		}
		p.ep = relayEndpoint{addr: net.JoinHostPort(es.RelayHost, strconv.Itoa(port)), tlsMode: mode,
			username: es.Username, password: es.Password}
	case s.cfg.DefaultRelay != "":
		p.ep = relayEndpoint{addr: s.cfg.DefaultRelay, tlsMode: s.cfg.DefaultTLS,
			username: s.cfg.DefaultUsername, password: s.cfg.DefaultPassword, operator: true}
	default:
		return nil, hub.Permanentf(ReasonNotConfigured, "email: no relay: set the practice's relay or KARERE_SMTP_RELAY")
	}
	switch p.ep.tlsMode {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, hub.Permanentf(ReasonNotConfigured, "email: TLS mode must be starttls, implicit or none")
	}
	if es.DKIMDomain != "" && es.DKIMSelector != "" && es.DKIMPrivateKey != "" {
		if !validDomain(es.DKIMDomain) || !validDomain(es.DKIMSelector) {
			return nil, hub.Permanentf(ReasonDKIMKey, "email: DKIM domain or selector is not a domain name")
		}
		p.dkimDomain, p.dkimSelector, p.dkimKey = es.DKIMDomain, es.DKIMSelector, es.DKIMPrivateKey
	}
	if p.replyDomain != "" && !validDomain(p.replyDomain) {
		return nil, hub.Permanentf(ReasonNotConfigured, "email: the reply domain is not a domain name")
	}
	return p, nil
}

// prepare validates m and decides every header.
func (s *Sender) prepare(m *hub.Message, p *profile) (*outgoing, string, error) {
	from, err := parseAddress(p.from)
	if err != nil {
		return nil, "", hub.Permanent(ReasonInvalidAddress, fmt.Errorf("email: From: %w", err))
	}
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, "", hub.Permanent(ReasonInvalidAddress, fmt.Errorf("email: To: %w", err))
	}
	deliveryID := m.Delivery.ID
	if err := checkIDText(deliveryID); err != nil {
		return nil, "", hub.Permanent(ReasonInvalidHeader, err)
	}
	name := ""
	loc := time.UTC
	if m.Practice != nil {
		name = m.Practice.Name
		if m.Practice.TimeZone != "" {
			if l, err := time.LoadLocation(m.Practice.TimeZone); err == nil {
				loc = l
			}
		}
	}
	subject := m.Subject
	if m.Ciphertext != nil {
		// The subject travels in clear: it must say nothing.
		subject = "Secure message"
		if name != "" {
			subject = "Secure message from " + name
		}
	}
	for _, v := range []string{name, subject} {
		if err := checkHeaderText(v); err != nil {
			return nil, "", hub.Permanent(ReasonInvalidHeader, err)
		}
	}
	o := &outgoing{
		fromName:   name,
		from:       from,
		to:         to,
		messageID:  deliveryID + "@" + domainOf(from),
		date:       s.cfg.Now().In(loc),
		subject:    subject,
		ciphertext: m.Ciphertext,
	}
	if m.Ciphertext == nil {
		o.text = strings.ToValidUTF8(m.Text, "\uFFFD")
		o.html = strings.ToValidUTF8(m.HTML, "\uFFFD")
		if o.text == "" && o.html != "" {
			o.text = htmlToText(o.html)
		}
		if strings.TrimSpace(o.text) == "" {
			return nil, "", hub.Permanentf(ReasonInvalidMessage, "email: empty message")
		}
	}
	envFrom := from
	if secret := s.cfg.ReplySecret; len(secret) > 0 {
		if p.replyDomain != "" {
			kind, id := KindDelivery, deliveryID
			if m.ThreadID != "" {
				kind, id = KindThread, m.ThreadID
			}
			o.replyTo = "reply+" + ReplyToken(secret, kind, id) + "@" + p.replyDomain
			envFrom = "bounce+" + ReplyToken(secret, KindBounce, deliveryID) + "@" + p.replyDomain
		}
		if m.Unsubscribable && s.cfg.PublicURL != "" {
			o.unsubscribeURL = s.cfg.PublicURL + "/v1/unsubscribe/" + UnsubscribeToken(secret, deliveryID, to)
		}
	}
	return o, envFrom, nil
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}

// stageError says which step of the SMTP exchange failed.
type stageError struct {
	stage string // "auth", "mail", "rcpt", "data"
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// submit runs one SMTP transaction on a pooled connection.
func (s *Sender) submit(ctx context.Context, ep relayEndpoint, envFrom, to, deliveryID string, msg []byte) error {
	p, err := s.poolFor(ep)
	if err != nil {
		return err
	}
	rc, err := s.acquire(ctx, p, ep)
	if err != nil {
		return classify(err)
	}
	err = withConn(ctx, rc, func() error {
		opts := &smtp.MailOptions{Size: int64(len(msg)), Return: smtp.DSNReturnHeaders, EnvelopeID: deliveryID}
		if err := rc.c.Mail(envFrom, opts); err != nil {
			return &stageError{"mail", err}
		}
		// ORCPT asks relays to name this address in a bounce, even after
		// forwarding: the hub checks a bounce against it.
		rcpt := &smtp.RcptOptions{OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: to}
		if !isASCII(to) {
			rcpt.OriginalRecipientType = smtp.DSNAddressTypeUTF8
		}
		if err := rc.c.Rcpt(to, rcpt); err != nil {
			return &stageError{"rcpt", err}
		}
		w, err := rc.c.Data()
		if err != nil {
			return &stageError{"data", err}
		}
		if _, err := w.Write(msg); err != nil {
			w.Close()
			return &stageError{"data", err}
		}
		if err := w.Close(); err != nil {
			return &stageError{"data", err}
		}
		return nil
	})
	healthy := err == nil
	var se *smtp.SMTPError
	if err != nil && errors.As(err, &se) && se.Code != 421 && ctx.Err() == nil {
		// The relay answered and is still talking: end the transaction
		// and keep the connection.
		healthy = withConn(ctx, rc, rc.c.Reset) == nil
	}
	s.release(p, rc, healthy)
	return classify(err)
}

// ReasonTargetRefused: the relay's address is refused by the hub's target
// policy (netguard): retrying cannot mend it, and the patient's next
// channel should carry the message.
const ReasonTargetRefused = "target_not_allowed"

// classify turns an SMTP failure into a temporary error or a
// hub.Permanent one. The error's text keeps the relay's answer, without
// addresses, for the logs; what API clients see (hub.ErrorText) is the
// stage and the reply codes of a refusal during the transaction, and
// netguard's uniform text for anything before it (the connection, the
// greeting, EHLO, STARTTLS), so that no banner is ever shown. A failure
// before the transaction is temporary whatever the relay answered: a
// refusing greeting is handled like a refused connection.
func classify(err error) error {
	if err == nil || hub.IsPermanent(err) {
		return err
	}
	if errors.Is(err, netguard.ErrRefused) {
		return hub.Permanent(ReasonTargetRefused, err)
	}
	stage := "connect"
	var st *stageError
	if errors.As(err, &st) {
		stage = st.stage
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) || st == nil {
		if st != nil {
			return fmt.Errorf("email: relay %s: %w", stage, st.err)
		}
		return err
	}
	safe := &smtp.SMTPError{Code: se.Code, EnhancedCode: se.EnhancedCode, Message: redact(se.Message)}
	e := hub.PublicWrap(replyText(stage, se), fmt.Errorf("email: relay refused %s: %w", stage, safe))
	if se.Code < 500 || se.Code > 599 {
		return e
	}
	ec := se.EnhancedCode
	switch {
	case stage == "auth":
		return hub.Permanent(ReasonAuthFailed, e)
	case se.Code == 552 || ec == smtp.EnhancedCode{5, 3, 4}:
		return hub.Permanent(ReasonTooLarge, e)
	case stage == "rcpt" && (ec[0] == 5 && (ec[1] == 1 || ec[1] == 2) || se.Code == 550 || se.Code == 551 || se.Code == 553):
		return hub.Permanent(ReasonMailboxUnavailable, e)
	case stage == "mail":
		return hub.Permanent(ReasonSenderRejected, e)
	}
	return hub.Permanent(ReasonRejected, e)
}

// replyText is what API clients see of a relay's refusal: the stage and
// the codes, never the relay's words ("relay refused rcpt (550 5.1.1)").
func replyText(stage string, se *smtp.SMTPError) string {
	codes := strconv.Itoa(se.Code)
	if ec := se.EnhancedCode; ec != smtp.NoEnhancedCode && ec != smtp.EnhancedCodeNotSet && ec[0] > 0 {
		codes += fmt.Sprintf(" %d.%d.%d", ec[0], ec[1], ec[2])
	}
	return "relay refused " + stage + " (" + codes + ")"
}

var addressLike = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+`)

// redact removes anything that looks like an address from a relay's
// answer, which often names the recipient, and bounds its length.
func redact(s string) string {
	s = addressLike.ReplaceAllString(s, "<address>")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
