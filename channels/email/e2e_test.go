package email_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/karerehub/karere/channels/email"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// relay is a real SMTP server on loopback standing in for the practice's
// mail relay. It records every message and can refuse for a while.
type relay struct {
	mu       sync.Mutex
	msgs     []relayed
	tempFail atomic.Bool // answer 421 at MAIL
	addr     string
}

type relayed struct {
	from string
	to   []string
	data []byte
}

type relayBackend struct{ r *relay }

func (b relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: b.r}, nil }

type relaySession struct {
	r   *relay
	cur relayed
}

func (s *relaySession) AuthPlain(string, string) error { return nil }
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.tempFail.Load() {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "service not available, try later"}
	}
	s.cur = relayed{from: from}
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

func newRelay(t *testing.T) *relay {
	r := &relay{}
	srv := smtp.NewServer(relayBackend{r})
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *relay) messages() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayed(nil), r.msgs...)
}

const replyDomain = "reply.kowhai.example"

// unsubscribe calls an unsubscribe link's path as a mail program (POST,
// one-click) or a person's browser (GET) would.
func (f *fixture) unsubscribe(t *testing.T, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("List-Unsubscribe=One-Click")
	}
	req, _ := http.NewRequest(method, f.h.URL+path, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) emailOptedOut(t *testing.T) bool {
	t.Helper()
	var p map[string]any
	f.h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
	return p["email_opted_out_at"] != nil
}

// unsubscribePath is the path of the List-Unsubscribe link of the n-th
// message the relay got.
func (f *fixture) unsubscribePath(t *testing.T, n int) string {
	t.Helper()
	h, _ := header(t, f.relay.messages()[n].data)
	return strings.TrimPrefix(strings.Trim(h.Get("List-Unsubscribe"), "<>"), "https://karere.example.nz")
}

// TestEmailOldUnsubscribeLinkKeepsNewAddress: the patient changes
// address; the link in an email sent to the old address (bound to it)
// opts out nothing, and the new address keeps getting email. So does a
// link of the old, unbound form once the patient's record has changed.
// The link in an email to the new address works.
func TestEmailOldUnsubscribeLinkKeepsNewAddress(t *testing.T) {
	f := setup(t, "")
	first := f.notice(t, "Flu vaccines are in.")
	f.waitDelivery(t, first, "sent")
	oldLink := f.unsubscribePath(t, 0)
	unbound := "/v1/unsubscribe/" + email.ReplyToken(f.h.Config.ReplySecret(), email.KindUnsubscribe, first)

	f.h.MustDo(200, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "email": "hemi.new@example.nz",
		"channels": []string{"email", "portal"}, "locale": "mi-NZ"})
	for _, path := range []string{oldLink, unbound} {
		if st, body := f.unsubscribe(t, "POST", path); st != 200 || !strings.Contains(body, "no longer sends email to the address this link was for") {
			t.Errorf("POST %s: %d %s", path, st, body)
		}
		if f.emailOptedOut(t) {
			t.Fatalf("a link for the old address opted out the new one (%s)", path)
		}
	}
	second := f.notice(t, "Second notice")
	f.waitDelivery(t, second, "sent")
	if to := f.relay.messages()[1].to; len(to) != 1 || to[0] != "hemi.new@example.nz" {
		t.Fatalf("second email went to %v", to)
	}
	if st, body := f.unsubscribe(t, "POST", f.unsubscribePath(t, 1)); st != 200 || !strings.Contains(body, "no longer get email from") {
		t.Fatalf("new link: %d %s", st, body)
	}
	if !f.emailOptedOut(t) {
		t.Fatal("the new address's link did not unsubscribe it")
	}
}

type fixture struct {
	h     *hubtest.Hub
	relay *relay
}

func setup(t *testing.T, relayAddr string) *fixture {
	f := &fixture{}
	if relayAddr == "" {
		f.relay = newRelay(t)
		relayAddr = f.relay.addr
	}
	f.h = hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBEmail, Configure: func(c *app.Config) {
		c.SMTPRelay = relayAddr
		c.SMTPTLS = "none"
		c.SMTPFrom = `"Kōwhai Health" <kia-ora@kowhai.example>`
		c.ReplyDomain = replyDomain
		c.SMTPAddr = "127.0.0.1:0"
		c.PublicURL = "https://karere.example.nz"
	}})
	f.h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "email": "hemi@example.nz",
		"channels": []string{"email", "portal"}, "locale": "mi-NZ"})
	return f
}

type delivery struct {
	ID, Channel, State string
	ProviderID         *string `json:"provider_id"`
	LastError          *string `json:"last_error"`
}

func (f *fixture) notice(t *testing.T, text string) string {
	var out struct{ Deliveries []delivery }
	f.h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": text}).JSON(t, &out)
	return out.Deliveries[0].ID
}

func (f *fixture) waitDelivery(t *testing.T, id, state string) delivery {
	t.Helper()
	var d delivery
	hubtest.WaitFor(t, 20*time.Second, "delivery "+id+" "+state, func() bool {
		f.h.MustDo(200, "GET", "/v1/deliveries/"+id, nil).JSON(t, &d)
		return d.State == state
	})
	return d
}

// sendMail speaks SMTP to the hub's inbound server.
func (f *fixture) sendMail(from, to string, msg []byte) error {
	c, err := smtp.Dial(f.h.App.SMTPAddr())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.example.nz"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func header(t *testing.T, data []byte) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse relayed message: %v", err)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if h, ok := p.Header.(*gomail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, _ := io.ReadAll(p.Body)
				text = string(b)
			}
		}
	}
	return m.Header, text
}

// TestEmailNoticeAndReply: a notice goes out through the relay with a
// reply token; the patient's reply with quoted history, sent to Karere's
// SMTP server, lands in a thread with only the new text, encrypted on
// arrival; a forged token and an oversize message are refused.
func TestEmailNoticeAndReply(t *testing.T) {
	f := setup(t, "")
	keys := f.h.RegisterKeys("p-1")
	id := f.notice(t, "Your repeat prescription is ready to collect.")
	f.waitDelivery(t, id, "sent")
	msgs := f.relay.messages()
	if len(msgs) != 1 || len(msgs[0].to) != 1 || msgs[0].to[0] != "hemi@example.nz" {
		t.Fatalf("relayed: %+v", msgs)
	}
	h, text := header(t, msgs[0].data)
	if !strings.Contains(text, "Your repeat prescription is ready to collect.") || !strings.Contains(text, "Kia ora Hemi") {
		t.Errorf("text part: %q", text)
	}
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("Message-Id") == "" {
		t.Errorf("headers: %v", h)
	}
	replyTo, err := mail.ParseAddress(h.Get("Reply-To"))
	if err != nil || !strings.HasSuffix(replyTo.Address, "@"+replyDomain) || !strings.HasPrefix(replyTo.Address, "reply+") {
		t.Fatalf("Reply-To %q: %v", h.Get("Reply-To"), err)
	}
	if !strings.HasPrefix(msgs[0].from, "bounce+") {
		t.Errorf("envelope sender %q is not a bounce address", msgs[0].from)
	}

	const newText = "Thanks, I will come on Friday. marker-e41b"
	reply := "From: Hemi <hemi@example.nz>\r\nTo: " + replyTo.Address + "\r\nSubject: Re: " + h.Get("Subject") +
		"\r\nMessage-ID: <reply-1@example.nz>\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + newText +
		"\r\n\r\nOn Tue, 1 Dec 2026 at 09:00, Kōwhai Health <kia-ora@kowhai.example> wrote:\r\n> Your repeat prescription is ready to collect.\r\n"
	for i := 0; i < 2; i++ { // a mail server may deliver twice: stored once
		if err := f.sendMail("hemi@example.nz", replyTo.Address, []byte(reply)); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	var threads struct{ Threads []struct{ ID string } }
	f.h.MustDo(200, "GET", "/v1/threads?patient=p-1", nil).JSON(t, &threads)
	if len(threads.Threads) != 1 {
		t.Fatalf("threads: %+v", threads)
	}
	var ms struct {
		Messages []struct {
			Via                string
			ArrivedUnencrypted bool `json:"arrived_unencrypted"`
			Ciphertext         string
		}
	}
	f.h.MustDo(200, "GET", "/v1/threads/"+threads.Threads[0].ID+"/messages", nil).JSON(t, &ms)
	if len(ms.Messages) != 1 || ms.Messages[0].Via != "email" || !ms.Messages[0].ArrivedUnencrypted {
		t.Fatalf("messages: %+v", ms)
	}
	pt, err := pgp.Decrypt([]byte(ms.Messages[0].Ciphertext), openpgp.EntityList{keys.Team}, nil)
	if err != nil || strings.TrimSpace(string(pt.Data)) != newText {
		t.Errorf("decrypted reply %q (%v), want only the new text", pt.Data, err)
	}

	// A forged or altered token is refused at RCPT.
	forged := "reply+" + strings.Repeat("a", 48) + "@" + replyDomain
	var se *smtp.SMTPError
	if err := f.sendMail("x@example.nz", forged, []byte(reply)); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("forged token: %v, want 550", err)
	}
	if err := f.sendMail("x@example.nz", "someone@"+replyDomain, []byte(reply)); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("unknown address: %v, want 550", err)
	}
	// Oversize is refused with 552.
	big := reply + strings.Repeat(strings.Repeat("x", 76)+"\r\n", (11<<20)/78)
	if err := f.sendMail("hemi@example.nz", replyTo.Address, []byte(big)); !errors.As(err, &se) || se.Code != 552 {
		t.Errorf("oversize: %v, want 552", err)
	}
	// Malformed MIME is refused without a crash, and the server still answers.
	bad := "To: " + replyTo.Address + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=\"\r\n"
	if err := f.sendMail("hemi@example.nz", replyTo.Address, []byte(bad)); !errors.As(err, &se) || se.Code < 500 {
		t.Errorf("malformed MIME: %v, want a 5xx refusal", err)
	}
	if err := f.sendMail("hemi@example.nz", replyTo.Address, []byte(strings.Replace(reply, "reply-1@", "reply-2@", 1))); err != nil {
		t.Errorf("the server stopped answering after a malformed message: %v", err)
	}
}

// TestEmailBounce: a DSN sent to the bounce address marks the delivery
// bounced with its status code; a hard bounce stops email to the address.
func TestEmailBounce(t *testing.T) {
	f := setup(t, "")
	id := f.notice(t, "First notice")
	f.waitDelivery(t, id, "sent")
	bounceTo := f.relay.messages()[0].from
	dsn := "From: MAILER-DAEMON@mx.example.nz\r\nTo: " + bounceTo + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.nz\r\n\r\n" +
		"Final-Recipient: rfc822; hemi@example.nz\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n" +
		"--b1--\r\n"
	if err := f.sendMail("", bounceTo, []byte(dsn)); err != nil {
		t.Fatalf("bounce: %v", err)
	}
	d := f.waitDelivery(t, id, "bounced")
	if d.LastError == nil || !strings.Contains(*d.LastError, "5.1.1") {
		t.Errorf("bounce reason %v", d.LastError)
	}
	var p map[string]any
	f.h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
	if p["email_opted_out_at"] == nil {
		t.Errorf("hard bounce did not stop email: %v", p)
	}
	id2 := f.notice(t, "Second notice")
	d2 := f.waitDelivery(t, id2, "failed")
	if d2.LastError == nil || !strings.HasPrefix(*d2.LastError, "opted_out") {
		t.Errorf("email after a hard bounce: %+v", d2)
	}
	if n := len(f.relay.messages()); n != 1 {
		t.Errorf("%d messages relayed, want 1", n)
	}
}

// TestEmailRelayOutage: the relay refuses connections, then answers 421,
// then recovers; every email is delivered, none twice.
func TestEmailRelayOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	f := setup(t, addr)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, f.notice(t, fmt.Sprintf("Outage notice %d", i)))
	}
	time.Sleep(time.Second)
	var d delivery
	f.h.MustDo(200, "GET", "/v1/deliveries/"+ids[0], nil).JSON(t, &d)
	if d.State != "pending" || d.LastError == nil {
		t.Fatalf("during the outage: %+v", d)
	}
	// The relay comes back on the same address, first answering 421.
	r := &relay{}
	r.tempFail.Store(true)
	srv := smtp.NewServer(relayBackend{r})
	srv.Domain = "relay.test"
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l2) }()
	t.Cleanup(func() { srv.Close() })
	time.Sleep(time.Second)
	r.tempFail.Store(false)
	for _, id := range ids {
		f.waitDelivery(t, id, "sent")
	}
	seen := map[string]int{}
	for _, m := range r.messages() {
		_, text := header(t, m.data)
		for i := 0; i < 5; i++ {
			if strings.Contains(text, fmt.Sprintf("Outage notice %d", i)) {
				seen[fmt.Sprint(i)]++
			}
		}
	}
	for i := 0; i < 5; i++ {
		if seen[fmt.Sprint(i)] != 1 {
			t.Errorf("notice %d relayed %d times", i, seen[fmt.Sprint(i)])
		}
	}
}

// TestEmailPGPMIME: a patient who registered a key and chose encrypted
// email gets a staff message's ciphertext as PGP/MIME (RFC 3156).
func TestEmailPGPMIME(t *testing.T) {
	f := setup(t, "")
	keys := f.h.RegisterKeys("p-1")
	f.h.MustDo(200, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "email": "hemi@example.nz",
		"channels": []string{"email"}, "encrypted_email": true})
	st, err := f.h.App.Core().Directory.AddStaff(context.Background(), f.h.Practice.ID, "nurse@kowhai.example", "Nurse Mere", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var th struct{ ID string }
	f.h.MustDo(201, "POST", "/v1/threads", map[string]any{"patient": "p-1"}).JSON(t, &th)
	var pk, tk struct{ Armored string }
	var ks struct{ Patient, Team struct{ Armored string } }
	f.h.MustDo(200, "GET", "/v1/keys/p-1", nil).JSON(t, &ks)
	_, _ = pk, tk
	pub := func(s string) *pgp.PublicKey {
		k, err := pgp.ParsePublicKey([]byte(s), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	msg, err := pgp.Encrypt([]byte("Your results are normal. marker-9c2d"), []*pgp.PublicKey{pub(ks.Patient.Armored), pub(ks.Team.Armored)}, keys.Team)
	if err != nil {
		t.Fatal(err)
	}
	f.h.MustDo(201, "POST", "/v1/threads/"+th.ID+"/messages?sender=staff:"+st.ID, string(msg), "Content-Type", "text/plain")
	hubtest.WaitFor(t, 20*time.Second, "PGP/MIME email", func() bool { return len(f.relay.messages()) == 1 })
	data := f.relay.messages()[0].data
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ct := m.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/encrypted") || !strings.Contains(ct, `protocol="application/pgp-encrypted"`) {
		t.Fatalf("Content-Type %q", ct)
	}
	if bytes.Contains(data, []byte("marker-9c2d")) || strings.Contains(m.Header.Get("Subject"), "results") {
		t.Error("plaintext in the PGP/MIME email")
	}
	i := bytes.Index(data, []byte("-----BEGIN PGP MESSAGE-----"))
	j := bytes.Index(data, []byte("-----END PGP MESSAGE-----"))
	if i < 0 || j < i {
		t.Fatal("no armored message in the email")
	}
	pt, err := pgp.Decrypt(data[i:j+len("-----END PGP MESSAGE-----")], openpgp.EntityList{keys.Patient}, openpgp.EntityList{keys.Team})
	if err != nil || !strings.Contains(string(pt.Data), "marker-9c2d") {
		t.Fatalf("patient cannot read the PGP/MIME email: %v", err)
	}
}

// TestEmailOneClickUnsubscribe: the List-Unsubscribe link shows a page on
// GET (a mail scanner changes nothing) and unsubscribes on the one-click
// POST (RFC 8058); the next email is not sent. A forged link is refused.
func TestEmailOneClickUnsubscribe(t *testing.T) {
	f := setup(t, "")
	id := f.notice(t, "Flu vaccines are in.")
	f.waitDelivery(t, id, "sent")
	h, _ := header(t, f.relay.messages()[0].data)
	link := strings.Trim(h.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(link, "https://karere.example.nz/v1/unsubscribe/") {
		t.Fatalf("List-Unsubscribe %q", link)
	}
	path := strings.TrimPrefix(link, "https://karere.example.nz")
	do := func(method, path string) (int, string) { return f.unsubscribe(t, method, path) }
	optedOut := func() bool { return f.emailOptedOut(t) }
	if st, body := do("GET", path); st != 200 || !strings.Contains(body, "<form method=\"post\"") {
		t.Fatalf("GET: %d %s", st, body)
	}
	if optedOut() {
		t.Fatal("a GET unsubscribed the patient")
	}
	if st, _ := do("POST", "/v1/unsubscribe/"+strings.Repeat("b", 48)); st != 404 {
		t.Errorf("forged token: %d", st)
	}
	if st, body := do("POST", path); st != 200 || !strings.Contains(body, "no longer get email from Kōwhai Health") {
		t.Fatalf("POST: %d %s", st, body)
	}
	if !optedOut() {
		t.Fatal("one-click POST did not unsubscribe")
	}
	id2 := f.notice(t, "Second notice")
	d := f.waitDelivery(t, id2, "failed")
	if d.LastError == nil || !strings.HasPrefix(*d.LastError, "opted_out") {
		t.Errorf("email after unsubscribing: %+v", d)
	}
}
