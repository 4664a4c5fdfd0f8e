package email

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/karerehub/karere/hub"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

type settingsFunc func(ctx context.Context, practiceID string) (*hub.EmailSettings, error)

func (f settingsFunc) EmailSettings(ctx context.Context, id string) (*hub.EmailSettings, error) {
	return f(ctx, id)
}

// Settings stands for the practice settings hub/delivery reads and puts
// in each message.
type Settings interface {
	EmailSettings(ctx context.Context, practiceID string) (*hub.EmailSettings, error)
}

// settingsSender sends as hub/delivery does: the practice's settings
// travel in each message.
type settingsSender struct {
	*Sender
	set Settings
}

func withSettings(s *Sender, set Settings) *settingsSender { return &settingsSender{s, set} }

func (s *settingsSender) Send(ctx context.Context, m *hub.Message) (hub.Receipt, error) {
	es, err := s.set.EmailSettings(ctx, m.Delivery.PracticeID)
	if err != nil && !errors.Is(err, hub.ErrNoRows) {
		return hub.Receipt{}, err
	}
	m.Email = es
	return s.Sender.Send(ctx, m)
}

func fixedSettings(es *hub.EmailSettings) Settings {
	return settingsFunc(func(context.Context, string) (*hub.EmailSettings, error) {
		if es == nil {
			return nil, nil
		}
		c := *es
		return &c, nil
	})
}

const testSubject = "Kia ora Hemi: your prescription is ready at Kōwhai Health (Rāapa)"

func testMessage() *hub.Message {
	return &hub.Message{
		Delivery: &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), PracticeID: "prc_test"},
		Practice: &hub.Practice{ID: "prc_test", Name: "Kōwhai Health", TimeZone: "Pacific/Auckland"},
		To:       "hemi@example.net",
		Subject:  testSubject,
		Text:     "Kia ora Hemi,\nYour repeat prescription is ready to collect at Unichem Te Aro.\nNgā mihi, Kōwhai Health",
		HTML:     "<p>Kia ora Hemi,</p><p>Your repeat prescription is ready to collect at Unichem Te Aro.</p><p>Ngā mihi, Kōwhai Health</p>",
	}
}

// newTestSender sends everything to relay with plain SMTP.
func newTestSender(t *testing.T, relay *testRelay, es *hub.EmailSettings) *settingsSender {
	t.Helper()
	if es == nil {
		es = &hub.EmailSettings{From: "kowhai@kowhai.example.nz", ReplyDomain: "reply.karere.example.nz"}
	}
	cfg := Config{
		DefaultRelay:   relay.addr,
		DefaultTLS:     TLSNone,
		HELOName:       "hub.karere.example.nz",
		ReplySecret:    testSecret,
		PublicURL:      "https://hub.karere.example.nz/",
		CommandTimeout: 5 * time.Second,
		DialTimeout:    2 * time.Second,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := withSettings(New(cfg), fixedSettings(es))
	t.Cleanup(func() { s.Close() })
	return s
}

func send(t *testing.T, s hub.Channel, m *hub.Message) (hub.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s.Send(ctx, m)
}

func mustSend(t *testing.T, s hub.Channel, m *hub.Message) hub.Receipt {
	t.Helper()
	rc, err := send(t, s, m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return rc
}

func readMail(t *testing.T, data []byte) *mail.Reader {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parsing what the relay got: %v", err)
	}
	return mr
}

func TestSendAlternative(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	m := testMessage()
	m.Unsubscribable = true
	receipt := mustSend(t, s, m)

	msgs := relay.messages()
	if len(msgs) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if want := m.Delivery.ID + "@kowhai.example.nz"; receipt.ProviderID != want {
		t.Errorf("ProviderID = %q, want %q", receipt.ProviderID, want)
	}
	if len(got.to) != 1 || got.to[0] != "hemi@example.net" {
		t.Errorf("RCPT = %v", got.to)
	}
	// VERP envelope sender naming the delivery.
	local, domain, _ := strings.Cut(got.from, "@")
	if domain != "reply.karere.example.nz" || !strings.HasPrefix(local, "bounce+") || len(local) > 64 {
		t.Fatalf("MAIL FROM = %q", got.from)
	}
	kind, id, err := ParseReplyToken(testSecret, strings.TrimPrefix(local, "bounce+"))
	if err != nil || kind != KindBounce || id != m.Delivery.ID {
		t.Errorf("bounce token = %c %q %v", kind, id, err)
	}
	if got.opts.EnvelopeID != m.Delivery.ID || got.opts.Return != smtp.DSNReturnHeaders {
		t.Errorf("DSN options = %+v", got.opts)
	}
	if bytes.Contains(got.data, []byte("\n")) && bytes.Count(got.data, []byte("\r\n")) != bytes.Count(got.data, []byte("\n")) {
		t.Error("message has bare LF line ends")
	}

	mr := readMail(t, got.data)
	h := mr.Header
	if id, _ := h.MessageID(); id != receipt.ProviderID {
		t.Errorf("Message-Id = %q", id)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date = %v, %v", d, err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Kōwhai Health" || from[0].Address != "kowhai@kowhai.example.nz" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, _ := h.AddressList("To")
	if len(to) != 1 || to[0].Address != "hemi@example.net" {
		t.Errorf("To = %v", to)
	}
	// Macrons: RFC 2047 on the wire, the same text decoded.
	if raw := h.Get("Subject"); !strings.Contains(raw, "=?utf-8?") {
		t.Errorf("raw Subject not RFC 2047 encoded: %q", raw)
	}
	if subj, _ := h.Subject(); subj != testSubject {
		t.Errorf("Subject = %q", subj)
	}
	replyTo, _ := h.AddressList("Reply-To")
	if len(replyTo) != 1 {
		t.Fatalf("Reply-To = %v", replyTo)
	}
	rlocal, rdomain, _ := strings.Cut(replyTo[0].Address, "@")
	kind, id, err = ParseReplyToken(testSecret, strings.TrimPrefix(rlocal, "reply+"))
	if rdomain != "reply.karere.example.nz" || !strings.HasPrefix(rlocal, "reply+") || err != nil || kind != KindDelivery || id != m.Delivery.ID {
		t.Errorf("Reply-To %q: %c %q %v", replyTo[0].Address, kind, id, err)
	}
	lu := h.Get("List-Unsubscribe")
	const prefix = "<https://hub.karere.example.nz/v1/unsubscribe/"
	if !strings.HasPrefix(lu, prefix) || !strings.HasSuffix(lu, ">") {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	id, sentTo, err := ParseUnsubscribeToken(testSecret, strings.TrimSuffix(strings.TrimPrefix(lu, prefix), ">"))
	if err != nil || id != m.Delivery.ID || sentTo == nil || !sentTo(m.To) || sentTo("someone.else@example.net") {
		t.Errorf("unsubscribe token: %q %v, bound to the recipient: %v", id, err, sentTo != nil && sentTo(m.To))
	}
	if v := h.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", v)
	}
	if mt, params, _ := h.ContentType(); mt != "multipart/alternative" || params["boundary"] == "" {
		t.Errorf("Content-Type = %q %v", mt, params)
	}

	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ih := p.Header.(*mail.InlineHeader)
		mt, params, _ := ih.ContentType()
		types = append(types, mt)
		if params["charset"] != "utf-8" || ih.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("%s part: charset %q, encoding %q", mt, params["charset"], ih.Get("Content-Transfer-Encoding"))
		}
		body, _ := io.ReadAll(p.Body)
		want := m.Text
		if mt == "text/html" {
			want = m.HTML
		}
		if string(body) != strings.ReplaceAll(want, "\n", "\r\n") {
			t.Errorf("%s body = %q", mt, body)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts = %v", types)
	}
}

func TestSendPlainThreadReplyTo(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	m := testMessage()
	m.HTML = ""
	m.ThreadID = hub.NewID(hub.PrefixThread)
	mustSend(t, s, m)
	h := readMail(t, relay.messages()[0].data).Header
	if mt, params, _ := h.ContentType(); mt != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %q %v", mt, params)
	}
	if h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", h.Get("Content-Transfer-Encoding"))
	}
	if h.Has("List-Unsubscribe") {
		t.Error("List-Unsubscribe on a message that is not unsubscribable")
	}
	replyTo, _ := h.AddressList("Reply-To")
	local, _, _ := strings.Cut(replyTo[0].Address, "@")
	kind, id, err := ParseReplyToken(testSecret, strings.TrimPrefix(local, "reply+"))
	if err != nil || kind != KindThread || id != m.ThreadID {
		t.Errorf("Reply-To names %c %q (%v), want thread %q", kind, id, err, m.ThreadID)
	}
}

func TestSendStableMessageID(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	m := testMessage()
	a := mustSend(t, s, m)
	b := mustSend(t, s, m)
	if a.ProviderID != b.ProviderID {
		t.Errorf("retried send has a new Message-ID: %q then %q", a.ProviderID, b.ProviderID)
	}
}

func TestSendReusesConnection(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	for i := 0; i < 4; i++ {
		mustSend(t, s, testMessage())
	}
	if n := len(relay.messages()); n != 4 {
		t.Fatalf("relay got %d messages", n)
	}
	if n := relay.accepts.Load(); n != 1 {
		t.Errorf("%d connections for 4 sequential sends, want 1", n)
	}
}

func TestSendPoolBound(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	s.cfg.PoolSize = 2
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			_, err := send(t, s, testMessage())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := relay.accepts.Load(); n > 2 {
		t.Errorf("%d connections with a pool of 2", n)
	}
	if n := len(relay.messages()); n != 8 {
		t.Errorf("relay got %d messages, want 8", n)
	}
}

func TestSendStartTLSAuthPlain(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	relay := startRelay(t, "127.0.0.1:0", serverTLS)
	relay.setAuth("kowhai", "s3cret pass")
	s := withSettings(New(Config{
		ReplySecret: testSecret, Dialer: loopbackDialer,
		TLSConfig: clientTLS,
	}), fixedSettings(&hub.EmailSettings{
		From: "kowhai@kowhai.example.nz", RelayHost: "127.0.0.1", RelayPort: portOf(relay.addr),
		TLS: TLSStartTLS, Username: "kowhai", Password: "s3cret pass",
	}))
	defer s.Close()
	mustSend(t, s, testMessage())
	mustSend(t, s, testMessage())
	msgs := relay.messages()
	if len(msgs) != 2 || !msgs[0].tls || msgs[0].auth != "kowhai" || !msgs[1].tls || msgs[1].auth != "kowhai" {
		t.Errorf("relayed: %+v", msgs)
	}
	if n := relay.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSendStartTLSUntrustedCertIsTemporary(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	relay := startRelay(t, "127.0.0.1:0", serverTLS)
	s := withSettings(New(Config{
		ReplySecret: testSecret, Dialer: loopbackDialer,
	}), fixedSettings(&hub.EmailSettings{
		From: "kowhai@kowhai.example.nz", RelayHost: "127.0.0.1", RelayPort: portOf(relay.addr), TLS: TLSStartTLS,
	}))
	defer s.Close()
	_, err := send(t, s, testMessage())
	if err == nil || hub.IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	if len(relay.messages()) != 0 {
		t.Error("message sent over an unverified connection")
	}
}

func TestSendImplicitTLSHandshakeFailureIsTemporary(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	relay.setAuth("kowhai", "pw")
	s := withSettings(New(Config{
		ReplySecret: testSecret, Dialer: loopbackDialer,
	}), fixedSettings(&hub.EmailSettings{
		From: "kowhai@kowhai.example.nz", RelayHost: "127.0.0.1", RelayPort: portOf(relay.addr),
		TLS: TLSImplicit, Username: "kowhai", Password: "pw",
	}))
	defer s.Close()
	// Implicit TLS to a plain server fails the handshake: temporary, and the
	// password never crosses.
	_, err := send(t, s, testMessage())
	if err == nil || hub.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestSendAuthFailedIsPermanent(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	relay := startRelay(t, "127.0.0.1:0", serverTLS)
	relay.setAuth("kowhai", "right")
	s := withSettings(New(Config{
		ReplySecret: testSecret, Dialer: loopbackDialer, TLSConfig: clientTLS,
	}), fixedSettings(&hub.EmailSettings{
		From: "kowhai@kowhai.example.nz", RelayHost: "127.0.0.1", RelayPort: portOf(relay.addr),
		TLS: TLSStartTLS, Username: "kowhai", Password: "wrong",
	}))
	defer s.Close()
	_, err := send(t, s, testMessage())
	assertReason(t, err, ReasonAuthFailed)
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p := 0
	for _, c := range addr[i+1:] {
		p = p*10 + int(c-'0')
	}
	return p
}

func assertReason(t *testing.T, err error, reason string) {
	t.Helper()
	var pe *hub.PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want permanent %q", err, reason)
	}
	if pe.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", pe.Reason, err, reason)
	}
}

func TestSendOutageAndRecovery(t *testing.T) {
	addr := freeAddr(t)
	s := New(Config{
		DefaultRelay: addr, DefaultTLS: TLSNone, DefaultFrom: "kowhai@kowhai.example.nz",
		ReplySecret: testSecret, DialTimeout: time.Second,
	})
	defer s.Close()

	// 1. Nobody listens: connection refused, temporary.
	_, err := send(t, s, testMessage())
	if err == nil || hub.IsPermanent(err) {
		t.Fatalf("connection refused: err = %v, want temporary", err)
	}

	// 2. The relay is up but shedding load: 421, temporary.
	relay := startRelay(t, addr, nil)
	relay.fail(smtpErr(421, smtp.EnhancedCode{4, 3, 2}, "Service shutting down"), nil, nil)
	_, err = send(t, s, testMessage())
	var se *smtp.SMTPError
	if err == nil || hub.IsPermanent(err) || !errors.As(err, &se) || se.Code != 421 {
		t.Fatalf("421: err = %v, want temporary SMTP 421", err)
	}

	// 3. 451 on RCPT (greylisting): temporary, the connection is kept.
	relay.fail(nil, smtpErr(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted <hemi@example.net>, try later"), nil)
	_, err = send(t, s, testMessage())
	if err == nil || hub.IsPermanent(err) {
		t.Fatalf("451: err = %v, want temporary", err)
	}
	if strings.Contains(err.Error(), "hemi@example.net") {
		t.Errorf("error names the address: %v", err)
	}

	// 4. Recovered.
	relay.fail(nil, nil, nil)
	mustSend(t, s, testMessage())
	if n := len(relay.messages()); n != 1 {
		t.Errorf("relay got %d messages", n)
	}
}

func TestSendPermanentFailures(t *testing.T) {
	tests := []struct {
		name             string
		mail, rcpt, data *smtp.SMTPError
		reason           string
	}{
		{name: "no such user", rcpt: smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "<hemi@example.net>: user unknown"), reason: ReasonMailboxUnavailable},
		{name: "sender refused", mail: smtpErr(553, smtp.EnhancedCode{5, 7, 1}, "Sender address rejected"), reason: ReasonSenderRejected},
		{name: "content refused", data: smtpErr(554, smtp.EnhancedCode{5, 7, 1}, "Message rejected as spam"), reason: ReasonRejected},
		{name: "too large", data: smtpErr(552, smtp.EnhancedCode{5, 3, 4}, "Message too big"), reason: ReasonTooLarge},
	}
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay.fail(tt.mail, tt.rcpt, tt.data)
			_, err := send(t, s, testMessage())
			assertReason(t, err, tt.reason)
			if strings.Contains(err.Error(), "hemi@example.net") {
				t.Errorf("error names the address: %v", err)
			}
		})
	}
	// After 5xx answers the connection was reset and kept.
	relay.fail(nil, nil, nil)
	mustSend(t, s, testMessage())
	if n := relay.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSendNotConfigured(t *testing.T) {
	s := withSettings(New(Config{ReplySecret: testSecret}), fixedSettings(nil))
	defer s.Close()
	_, err := send(t, s, testMessage())
	assertReason(t, err, ReasonNotConfigured)

	s2 := withSettings(New(Config{ReplySecret: testSecret}), settingsFunc(func(context.Context, string) (*hub.EmailSettings, error) {
		return nil, hub.ErrNoRows
	}))
	defer s2.Close()
	_, err = send(t, s2, testMessage())
	assertReason(t, err, ReasonNotConfigured)

	s3 := withSettings(New(Config{DefaultRelay: "127.0.0.1:1", ReplySecret: testSecret}), settingsFunc(func(context.Context, string) (*hub.EmailSettings, error) {
		return nil, errors.New("database is down")
	}))
	defer s3.Close()
	if _, err = send(t, s3, testMessage()); err == nil || hub.IsPermanent(err) {
		t.Errorf("settings outage: err = %v, want temporary", err)
	}
}

func TestSendHeaderInjectionRefused(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	tests := []struct {
		name   string
		edit   func(m *hub.Message)
		from   string
		reason string
	}{
		{name: "CRLF in To", edit: func(m *hub.Message) { m.To = "hemi@example.net\r\nBcc: all@example.org" }, reason: ReasonInvalidAddress},
		{name: "LF in To", edit: func(m *hub.Message) { m.To = "hemi@example.net\nBcc: all@example.org" }, reason: ReasonInvalidAddress},
		{name: "two addresses", edit: func(m *hub.Message) { m.To = "hemi@example.net, all@example.org" }, reason: ReasonInvalidAddress},
		{name: "group syntax", edit: func(m *hub.Message) { m.To = "x: hemi@example.net, all@example.org;" }, reason: ReasonInvalidAddress},
		{name: "quoted local part with space", edit: func(m *hub.Message) { m.To = `"hemi> RCPT TO:<x"@example.net` }, reason: ReasonInvalidAddress},
		{name: "no domain", edit: func(m *hub.Message) { m.To = "hemi" }, reason: ReasonInvalidAddress},
		{name: "CRLF in subject", edit: func(m *hub.Message) { m.Subject = "Reminder\r\nBcc: all@example.org" }, reason: ReasonInvalidHeader},
		{name: "LF in subject", edit: func(m *hub.Message) { m.Subject = "Reminder\nX-Evil: 1" }, reason: ReasonInvalidHeader},
		{name: "NUL in subject", edit: func(m *hub.Message) { m.Subject = "Reminder\x00" }, reason: ReasonInvalidHeader},
		{name: "CR in practice name", edit: func(m *hub.Message) { m.Practice.Name = "Kōwhai\rBcc: all@example.org" }, reason: ReasonInvalidHeader},
		{name: "odd delivery id", edit: func(m *hub.Message) { m.Delivery.ID = "dlv_1>\r\nBcc: x" }, reason: ReasonInvalidHeader},
		{name: "CRLF in From setting", from: "kowhai@kowhai.example.nz\r\nBcc: all@example.org", reason: ReasonInvalidAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &hub.EmailSettings{From: "kowhai@kowhai.example.nz", ReplyDomain: "reply.karere.example.nz"}
			if tt.from != "" {
				es.From = tt.from
			}
			s := newTestSender(t, relay, es)
			m := testMessage()
			if tt.edit != nil {
				tt.edit(m)
			}
			_, err := send(t, s, m)
			assertReason(t, err, tt.reason)
		})
	}
	if n := len(relay.messages()); n != 0 {
		t.Errorf("relay got %d messages", n)
	}
}

func TestSendPGPMIME(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	ciphertext := []byte{0xc1, 0x5e, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x12, 0x01, 0x07, 0x40}
	for i := 0; i < 300; i++ {
		ciphertext = append(ciphertext, byte(i*7))
	}
	m := testMessage()
	m.Ciphertext = ciphertext
	m.Subject = "Your test results from Dr Smith"
	mustSend(t, s, m)

	mr := readMail(t, relay.messages()[0].data)
	if subj, _ := mr.Header.Subject(); subj != "Secure message from Kōwhai Health" {
		t.Errorf("Subject = %q", subj)
	}
	mt, params, _ := mr.Header.ContentType()
	if mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("Content-Type = %q %v", mt, params)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		parts = append(parts, ct)
		body, _ := io.ReadAll(p.Body)
		switch {
		case strings.HasPrefix(ct, "application/pgp-encrypted"):
			if strings.TrimSpace(string(body)) != "Version: 1" {
				t.Errorf("version part = %q", body)
			}
		case strings.HasPrefix(ct, "application/octet-stream"):
			blk, err := armor.Decode(bytes.NewReader(body))
			if err != nil || blk.Type != "PGP MESSAGE" {
				t.Fatalf("armor: %v", err)
			}
			got, _ := io.ReadAll(blk.Body)
			if !bytes.Equal(got, ciphertext) {
				t.Error("ciphertext changed in transit")
			}
		default:
			t.Errorf("unexpected part %q", ct)
		}
		if bytes.Contains(body, []byte("prescription")) {
			t.Error("plaintext in a PGP/MIME message")
		}
	}
	if len(parts) != 2 {
		t.Errorf("parts = %v", parts)
	}

	// Already armored ciphertext goes out as it is.
	var armored bytes.Buffer
	w, _ := armor.Encode(&armored, "PGP MESSAGE", nil)
	w.Write(ciphertext)
	w.Close()
	m2 := testMessage()
	m2.Ciphertext = armored.Bytes()
	mustSend(t, s, m2)
	got, _, _, err := parseSent(relay.messages()[1].data)
	if err != nil || !bytes.Equal(got, ciphertext) {
		t.Errorf("armored ciphertext: %v", err)
	}
}

// parseSent reads back a PGP/MIME message with ParseReply.
func parseSent(data []byte) ([]byte, string, string, error) {
	text, c, id, err := ParseReply(bytes.NewReader(data))
	return c, text, id, err
}

func TestSendDKIM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8RSA, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	pkcs8Ed, _ := x509.MarshalPKCS8PrivateKey(edKey)
	rsaPub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)

	tests := []struct {
		name string
		pem  string
		txt  string
	}{
		{"rsa pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})),
			"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)},
		{"rsa pkcs8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8RSA})),
			"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)},
		{"ed25519 pkcs8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8Ed})),
			"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)},
	}
	relay := startRelay(t, "127.0.0.1:0", nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSender(t, relay, &hub.EmailSettings{
				From: "kowhai@kowhai.example.nz", ReplyDomain: "reply.karere.example.nz",
				DKIMDomain: "kowhai.example.nz", DKIMSelector: "karere", DKIMPrivateKey: tt.pem,
			})
			m := testMessage()
			m.Unsubscribable = true
			mustSend(t, s, m)
			data := relay.messages()[i].data
			vs, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{
				LookupTXT: func(domain string) ([]string, error) {
					if domain != "karere._domainkey.kowhai.example.nz" {
						return nil, errors.New("no such record")
					}
					return []string{tt.txt}, nil
				},
			})
			if err != nil || len(vs) != 1 {
				t.Fatalf("verify: %v, %d signatures", err, len(vs))
			}
			v := vs[0]
			if v.Err != nil || v.Domain != "kowhai.example.nz" {
				t.Fatalf("signature: domain %q, err %v", v.Domain, v.Err)
			}
			signed := strings.ToLower(strings.Join(v.HeaderKeys, ","))
			for _, k := range []string{"from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type", "list-unsubscribe", "list-unsubscribe-post"} {
				if !strings.Contains(","+signed+",", ","+k+",") {
					t.Errorf("%s not signed (h=%s)", k, signed)
				}
			}
			if sig := readMail(t, data).Header.Get("Dkim-Signature"); !strings.Contains(sig, "c=relaxed/relaxed") {
				t.Errorf("DKIM-Signature = %q", sig)
			}
		})
	}

	s := newTestSender(t, relay, &hub.EmailSettings{
		From: "kowhai@kowhai.example.nz", DKIMDomain: "kowhai.example.nz", DKIMSelector: "karere",
		DKIMPrivateKey: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
	})
	_, err = send(t, s, testMessage())
	assertReason(t, err, ReasonDKIMKey)
	var _ crypto.Signer = rsaKey
}

func TestSendContextCancelled(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, testMessage())
	if err == nil || hub.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want temporary context.Canceled", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{DefaultRelay: "nohost", DefaultTLS: "ssl", PublicURL: "http://x", DefaultFrom: "a\nb"}.Validate()
	if err == nil {
		t.Fatal("bad config passed")
	}
	for _, want := range []string{"KARERE_SECRET_KEY", "KARERE_SMTP_RELAY", "KARERE_SMTP_TLS", "KARERE_PUBLIC_URL", "KARERE_SMTP_FROM"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	_ = tls.VersionTLS13
}

func TestSendRedialsDroppedConnection(t *testing.T) {
	// The relay drops idle clients.
	relay := startRelay(t, "127.0.0.1:0", nil, func(s *smtp.Server) { s.ReadTimeout = 200 * time.Millisecond })
	s := newTestSender(t, relay, nil)
	mustSend(t, s, testMessage())
	time.Sleep(500 * time.Millisecond)
	mustSend(t, s, testMessage())
	if n := relay.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the dropped one replaced)", n)
	}
}

func TestSendIdleConnectionRetired(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := newTestSender(t, relay, nil)
	var mu sync.Mutex
	now := time.Now()
	s.cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mustSend(t, s, testMessage())
	mu.Lock()
	now = now.Add(DefaultIdleTimeout + time.Second)
	mu.Unlock()
	mustSend(t, s, testMessage())
	if n := relay.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the idle one retired)", n)
	}
}
