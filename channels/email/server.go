package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/karerehub/karere/hub"
)

// Hub is what the inbound Server needs from the hub (internal/app
// assembles it from the core's services).
type Hub interface {
	// ReceiveReply stores a patient's reply (encrypting plaintext on
	// arrival); duplicate ProviderIDs are processed once. in.PracticeID is
	// empty: the hub finds the practice from ThreadID or DeliveryID.
	ReceiveReply(ctx context.Context, in hub.InboundText) (hub.ReplyResult, error)
	// DeliveryStatus records a bounce (State StateBounced, ErrorCode
	// "5.1.1", Permanent for hard bounces, DeliveryID set). practiceID is
	// "": the hub finds it from u.DeliveryID.
	DeliveryStatus(ctx context.Context, practiceID string, u hub.StatusUpdate) error
}

// Server defaults.
const (
	DefaultMaxMessageBytes = 10 << 20 // replies are short; PGP/MIME ones a little longer
	DefaultMaxRecipients   = 5
	DefaultReadTimeout     = 2 * time.Minute
	DefaultWriteTimeout    = time.Minute
	// hubTimeout bounds the hub calls for one message, within the time a
	// sending MTA waits for the answer after the final dot (10 minutes).
	hubTimeout = time.Minute
)

// ServerConfig configures the inbound Server.
type ServerConfig struct {
	Addr string // KARERE_SMTP_ADDR, e.g. ":25"
	// Domains are the reply domains accepted in RCPT TO
	// (KARERE_REPLY_DOMAIN, comma-separated): every practice's
	// reply_domain and Config.ReplyDomain. Their MX points here.
	Domains []string
	// Hostname is announced in the greeting; default Domains[0].
	Hostname        string
	MaxMessageBytes int64 // default DefaultMaxMessageBytes; larger is refused with 552 5.3.4
	MaxRecipients   int   // default DefaultMaxRecipients
	TLSConfig       *tls.Config
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	// MaxConnections caps the connections served at once
	// (KARERE_SMTP_MAX_CONNECTIONS); one more is answered "421 4.7.0 Too
	// many connections" and closed before the greeting. Default
	// DefaultMaxConnections.
	MaxConnections int
	// ConnectionsPerMinute bounds new connections from one address (an
	// IPv4 address, an IPv6 /64): a bucket of that many, refilled at that
	// rate a minute; a connection finding it empty gets the same 421.
	// 0: DefaultConnectionsPerMinute; negative: no limit.
	ConnectionsPerMinute int
	// ReplySecret is Config.ReplySecret.
	ReplySecret []byte
	// Logger gets outcomes with token kinds and ids, never addresses or
	// text; nil: slog.Default().
	Logger *slog.Logger
}

// Validate reports what to set when c cannot work.
func (c ServerConfig) Validate() error {
	var errs []error
	if len(c.ReplySecret) < 32 {
		errs = append(errs, errors.New("email: set KARERE_SECRET_KEY (the email reply secret is derived from it)"))
	}
	if len(c.Domains) == 0 {
		errs = append(errs, errors.New("email: set KARERE_REPLY_DOMAIN to the domain(s) whose MX is this server"))
	}
	for _, d := range c.Domains {
		if !validDomain(strings.TrimSpace(d)) {
			errs = append(errs, fmt.Errorf("email: reply domain %q is not a domain name", d))
		}
	}
	return errors.Join(errs...)
}

// Server receives replies and bounces by SMTP.
type Server struct {
	srv    *smtp.Server
	cfg    ServerConfig
	hub    Hub
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
}

// SMTP answers of the Server.
var (
	errNoSuchAddress = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such reply address"}
	errForgedToken = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Reply address not recognised"}
	errMalformedMessage = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Message could not be read as MIME"}
	errEmptyReply = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "No new text found above the quoted message: write your reply above it"}
	errTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary failure, try again later"}
	errReplyRefused = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "This conversation no longer accepts replies"}
)

// NewServer returns a Server handing what it receives to h.
func NewServer(cfg ServerConfig, h Hub) *Server {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.ConnectionsPerMinute == 0 {
		cfg.ConnectionsPerMinute = DefaultConnectionsPerMinute
	}
	for i, d := range cfg.Domains {
		cfg.Domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	if cfg.Hostname == "" && len(cfg.Domains) > 0 {
		cfg.Hostname = cfg.Domains[0]
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, hub: h, log: logger.With("component", "email.server")}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Addr = cfg.Addr
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.TLSConfig = cfg.TLSConfig
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	// go-smtp logs connection errors with the remote IP only; route them
	// through the structured logger.
	srv.ErrorLog = log.New(slogWriter{s.log}, "", 0)
	s.srv = srv
	return s
}

// ListenAndServe listens on cfg.Addr and serves until Close or Shutdown,
// when it returns smtp.ErrServerClosed.
func (s *Server) ListenAndServe() error {
	addr := s.cfg.Addr
	if addr == "" {
		addr = ":smtp"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves connections accepted on l, within the connection limits
// (MaxConnections, ConnectionsPerMinute).
func (s *Server) Serve(l net.Listener) error {
	return s.srv.Serve(newLimitListener(l, s.cfg, s.log))
}

// Close stops listening and closes every connection at once.
func (s *Server) Close() error {
	s.cancel()
	return s.srv.Close()
}

// Shutdown stops listening and waits for open sessions to end (or ctx),
// then cancels hub calls still running.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.cancel()
	return err
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("smtp", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s}, nil
}

// target is an accepted recipient: what its token names.
type target struct {
	kind byte
	id   string
}

// session is one SMTP session; go-smtp calls it from one goroutine.
type session struct {
	s       *Server
	targets []target
}

func (ss *session) Reset()        { ss.targets = nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, opts *smtp.MailOptions) error { return nil }

// Rcpt accepts reply+TOKEN and bounce+TOKEN at a reply domain, with a
// token that verifies and is of the right kind.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	t, err := ss.s.parseRecipient(to)
	if err != nil {
		return err
	}
	ss.targets = append(ss.targets, t)
	return nil
}

func (s *Server) parseRecipient(to string) (target, error) {
	i := strings.LastIndexByte(to, '@')
	if i < 0 {
		return target{}, errNoSuchAddress
	}
	local, domain := strings.ToLower(to[:i]), strings.ToLower(to[i+1:])
	known := false
	for _, d := range s.cfg.Domains {
		known = known || d == domain
	}
	if !known {
		return target{}, errNoSuchAddress
	}
	prefix, token, ok := strings.Cut(local, "+")
	if !ok || prefix != "reply" && prefix != "bounce" {
		return target{}, errNoSuchAddress
	}
	kind, id, err := ParseReplyToken(s.cfg.ReplySecret, token)
	if err != nil {
		s.log.Info("forged or damaged reply token refused", "prefix", prefix)
		return target{}, errForgedToken
	}
	switch {
	case prefix == "reply" && (kind == KindThread || kind == KindDelivery),
		prefix == "bounce" && kind == KindBounce:
		return target{kind: kind, id: id}, nil
	}
	return target{}, errForgedToken
}

// Data reads the message and hands it to the hub once per recipient. It
// never panics: a message that breaks the parser is refused with 554.
func (ss *session) Data(r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			ss.s.log.Error("panic handling inbound message", "panic", p)
			err = errMalformedMessage
		}
	}()
	raw, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return smtp.ErrDataTooLarge // 552 5.3.4
		}
		return errTryLater
	}
	for _, t := range ss.targets {
		if err := ss.s.deliver(t, raw); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) deliver(t target, raw []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, hubTimeout)
	defer cancel()
	if t.kind == KindBounce {
		return s.bounce(ctx, t.id, raw)
	}
	rep, err := parseReply(bytes.NewReader(raw))
	if err != nil {
		s.log.Info("malformed reply refused", "kind", string(t.kind), "id", t.id)
		return errMalformedMessage
	}
	if rep.auto {
		s.log.Info("automatic reply dropped", "kind", string(t.kind), "id", t.id)
		return nil
	}
	if rep.text == "" && rep.ciphertext == nil {
		s.log.Info("empty reply refused", "kind", string(t.kind), "id", t.id)
		return errEmptyReply
	}
	in := hub.InboundText{
		Via:        hub.ChannelEmail,
		From:       rep.from,
		ProviderID: rep.messageID,
		Text:       rep.text,
		Ciphertext: rep.ciphertext,
	}
	if t.kind == KindThread {
		in.ThreadID = t.id
	} else {
		in.DeliveryID = t.id
	}
	res, err := s.hub.ReceiveReply(ctx, in)
	if err != nil {
		return s.hubError(err, "reply", t)
	}
	s.log.Info("reply received", "thread", res.ThreadID, "message", res.MessageID, "duplicate", res.Duplicate)
	return nil
}

// bounce records a DSN sent to bounce+TOKEN. Mail there that is not a DSN
// (auto-replies sent to the envelope sender, non-standard bounces) is
// accepted and dropped: it cannot be read reliably, and refusing it would
// only make another message.
func (s *Server) bounce(ctx context.Context, deliveryID string, raw []byte) error {
	d, err := ParseDSN(bytes.NewReader(raw))
	if errors.Is(err, ErrNotDSN) {
		s.log.Info("non-DSN mail to bounce address dropped", "delivery", deliveryID)
		return nil
	}
	if err != nil {
		s.log.Info("malformed DSN refused", "delivery", deliveryID)
		return errMalformedMessage
	}
	u, ok := d.StatusUpdate(deliveryID, time.Now())
	if !ok {
		s.log.Info("DSN without failure ignored", "delivery", deliveryID)
		return nil
	}
	if err := s.hub.DeliveryStatus(ctx, "", u); err != nil {
		return s.hubError(err, "bounce", target{KindBounce, deliveryID})
	}
	s.log.Info("bounce recorded", "delivery", deliveryID, "status", u.ErrorCode, "hard", u.Permanent)
	return nil
}

// hubError answers a hub failure: 550 when the hub refuses for good (the
// thread or delivery is gone, the reply is not acceptable), 451 otherwise
// so the sending server retries.
func (s *Server) hubError(err error, what string, t target) error {
	var he *hub.Error
	if errors.As(err, &he) && he.Kind != hub.KindInternal && he.Kind != hub.KindUnavailable && he.Kind != hub.KindRateLimited {
		s.log.Info("hub refused inbound "+what, "kind", string(t.kind), "id", t.id, "code", he.Code)
		if he.Kind == hub.KindNotFound {
			return errForgedToken
		}
		return errReplyRefused
	}
	if hub.IsPermanent(err) {
		s.log.Info("hub refused inbound "+what, "kind", string(t.kind), "id", t.id)
		return errReplyRefused
	}
	s.log.Error("hub failed on inbound "+what, "kind", string(t.kind), "id", t.id, "err", err)
	return errTryLater
}
