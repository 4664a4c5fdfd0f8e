package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/karerehub/karere/hub"
)

// tripwire fails the test if the Server reaches the hub. The end-to-end
// inbound tests, through the real hub, live in e2e_test.go; these
// cover what the Server decides alone.
type tripwire struct{ t *testing.T }

func (h tripwire) ReceiveReply(context.Context, hub.InboundText) (hub.ReplyResult, error) {
	h.t.Error("hub called")
	return hub.ReplyResult{}, errors.New("unexpected")
}

func (h tripwire) DeliveryStatus(context.Context, string, hub.StatusUpdate) error {
	h.t.Error("hub called")
	return errors.New("unexpected")
}

const replyDomain = "reply.karere.example.nz"

func startServer(t *testing.T, maxBytes int64) string {
	t.Helper()
	s := NewServer(ServerConfig{
		Domains:         []string{replyDomain, "Reply.Other.example.nz"},
		MaxMessageBytes: maxBytes,
		ReplySecret:     testSecret,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, tripwire{t})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

func dialServer(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("mx.example.net"); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantSMTPError(t *testing.T, err error, code int, enhanced string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want SMTP %d %s", err, code, enhanced)
	}
	got := fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	if se.Code != code || got != enhanced {
		t.Fatalf("answer %d %s %q, want %d %s", se.Code, got, se.Message, code, enhanced)
	}
}

func TestServerRcpt(t *testing.T) {
	addr := startServer(t, 0)
	thread := hub.NewID(hub.PrefixThread)
	delivery := hub.NewID(hub.PrefixDelivery)
	tests := []struct {
		name     string
		to       string
		code     int
		enhanced string
	}{
		{name: "thread reply", to: "reply+" + ReplyToken(testSecret, KindThread, thread) + "@" + replyDomain},
		{name: "delivery reply, other domain, any case", to: "Reply+" + strings.ToUpper(ReplyToken(testSecret, KindDelivery, delivery)) + "@REPLY.other.example.nz"},
		{name: "bounce", to: "bounce+" + ReplyToken(testSecret, KindBounce, delivery) + "@" + replyDomain},
		{name: "unknown local part", to: "postmaster@" + replyDomain, code: 550, enhanced: "5.1.1"},
		{name: "unknown domain", to: "reply+" + ReplyToken(testSecret, KindThread, thread) + "@example.com", code: 550, enhanced: "5.1.1"},
		{name: "forged token", to: "reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" + replyDomain, code: 550, enhanced: "5.7.1"},
		{name: "token from another secret", to: "reply+" + ReplyToken([]byte("another secret, also 32 bytes..."), KindThread, thread) + "@" + replyDomain, code: 550, enhanced: "5.7.1"},
		{name: "reply token used as bounce", to: "bounce+" + ReplyToken(testSecret, KindDelivery, delivery) + "@" + replyDomain, code: 550, enhanced: "5.7.1"},
		{name: "bounce token used as reply", to: "reply+" + ReplyToken(testSecret, KindBounce, delivery) + "@" + replyDomain, code: 550, enhanced: "5.7.1"},
		{name: "unsubscribe token used as reply", to: "reply+" + ReplyToken(testSecret, KindUnsubscribe, delivery) + "@" + replyDomain, code: 550, enhanced: "5.7.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialServer(t, addr)
			if err := c.Mail("hemi@example.net", nil); err != nil {
				t.Fatal(err)
			}
			err := c.Rcpt(tt.to, nil)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantSMTPError(t, err, tt.code, tt.enhanced)
		})
	}
}

func TestServerRefusesWithoutHub(t *testing.T) {
	addr := startServer(t, 4096)
	replyTo := "reply+" + ReplyToken(testSecret, KindThread, hub.NewID(hub.PrefixThread)) + "@" + replyDomain
	bounceTo := "bounce+" + ReplyToken(testSecret, KindBounce, hub.NewID(hub.PrefixDelivery)) + "@" + replyDomain
	tests := []struct {
		name     string
		to       string
		data     []byte
		code     int
		enhanced string
	}{
		{name: "oversize", to: replyTo, code: 552, enhanced: "5.3.4",
			data: []byte("Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 400))},
		{name: "malformed reply", to: replyTo, data: readTestdata(t, "malformed-base64.eml"), code: 554, enhanced: "5.6.0"},
		{name: "reply with only quoted text", to: replyTo, code: 550, enhanced: "5.6.0",
			data: []byte("From: hemi@example.net\r\nMessage-ID: <q@example.net>\r\n\r\n> Kia ora Hemi\r\n")},
		{name: "auto-reply dropped", to: replyTo, data: readTestdata(t, "auto-reply.eml")},
		{name: "non-DSN to bounce dropped", to: bounceTo,
			data: []byte("From: hemi@example.net\r\nAuto-Submitted: auto-replied\r\n\r\nI am away\r\n")},
		{name: "DSN reporting a delay ignored", to: bounceTo, data: mustRead(t, "testdata/dsn/delayed.eml")},
		{name: "malformed DSN", to: bounceTo, data: mustRead(t, "testdata/dsn/report-without-status.eml"), code: 554, enhanced: "5.6.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialServer(t, addr)
			if err := c.Mail("", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt(tt.to, nil); err != nil {
				t.Fatal(err)
			}
			w, err := c.Data()
			if err != nil {
				t.Fatal(err)
			}
			w.Write(tt.data)
			err = w.Close()
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantSMTPError(t, err, tt.code, tt.enhanced)
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
