package email

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/dnstest"
	"github.com/karerehub/karere/internal/netguard"
)

// loopbackGuard is the target policy with loopback allowed, as the hub's
// tests run it: the test relays listen on 127.0.0.1.
var loopbackGuard = func() *netguard.Guard {
	g, err := netguard.New(netguard.Config{Allow: netguard.MustParse("127.0.0.0/8,::1/128")})
	if err != nil {
		panic(err)
	}
	return g
}()

var loopbackDialer = loopbackGuard.Dialer(0)

func practiceRelay(addr string) *hub.EmailSettings {
	return &hub.EmailSettings{From: "kowhai@kowhai.example.nz", RelayHost: "127.0.0.1", RelayPort: portOf(addr), TLS: TLSNone}
}

// TestPracticeRelayRefusedByTargetPolicy: with no Dialer the default
// policy applies, so a practice relay on loopback is refused before any
// connection is made: permanent target_not_allowed, shown as the policy's
// uniform text. The operator's default relay on loopback is not a
// practice's choice and is reached.
func TestPracticeRelayRefusedByTargetPolicy(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	s := withSettings(New(Config{ReplySecret: testSecret}), fixedSettings(practiceRelay(relay.addr)))
	defer s.Close()
	_, err := send(t, s, testMessage())
	assertReason(t, err, ReasonTargetRefused)
	if got := hub.ErrorText(ReasonTargetRefused, err); got != "target_not_allowed: refused by target policy" {
		t.Errorf("last error %q", got)
	}
	if n := relay.accepts.Load(); n != 0 {
		t.Errorf("the refused relay got %d connections", n)
	}

	def := newTestSender(t, relay, nil) // DefaultRelay = relay.addr, no Dialer
	mustSend(t, def, testMessage())
	if n := len(relay.messages()); n != 1 {
		t.Errorf("default relay got %d messages, want 1", n)
	}
}

// TestPracticeRelayNameResolvingToLoopbackRefusedAtDial: the relay is
// named, and the name resolves to loopback when the hub connects. The
// dialer's Control hook sees the resolved address and refuses it, whatever
// the name looked like.
func TestPracticeRelayNameResolvingToLoopbackRefusedAtDial(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	dns := dnstest.Start(t, map[string][]string{"smtp.kowhai.test": {"127.0.0.1"}})
	g, err := netguard.New(netguard.Config{Resolver: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	es := practiceRelay(relay.addr)
	es.RelayHost = "smtp.kowhai.test"
	s := withSettings(New(Config{ReplySecret: testSecret, Dialer: g.Dialer(0)}), fixedSettings(es))
	defer s.Close()
	_, err = send(t, s, testMessage())
	assertReason(t, err, ReasonTargetRefused)
	if n := relay.accepts.Load(); n != 0 {
		t.Errorf("the refused relay got %d connections", n)
	}
	if dns.Queries("smtp.kowhai.test") == 0 {
		t.Error("the name was not resolved by the guard's resolver")
	}
}

// fakePort is a loopback TCP port in one of the states a port scan tells
// apart.
func fakePort(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// portStates are the answers a port gives that the issue saw told apart
// in last_error: refused, EOF, a banner of another protocol, an SMTP
// server's refusal naming its host, and silence.
func portStates(t *testing.T) map[string]string {
	t.Helper()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	return map[string]string{
		"refused": freeAddr(t),
		"eof":     fakePort(t, func(c net.Conn) { c.Close() }),
		"redis banner": fakePort(t, func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("-ERR unknown command 'EHLO', redis_version:7.2.4 at 10.0.0.7:6379\r\n"))
			bufio.NewReader(c).ReadString('\n')
		}),
		"smtp 554 banner": fakePort(t, func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("554 5.7.1 mail.internal.kowhai.lan ESMTP Postfix: no service for 10.0.0.7\r\n"))
			bufio.NewReader(c).ReadString('\n')
		}),
		"silent": fakePort(t, func(c net.Conn) {
			defer c.Close()
			<-hold
		}),
	}
}

// TestRelayFailuresLookAlike: whatever a relay's port does before the
// SMTP transaction, what API clients are shown is one of the uniform
// texts: no banner, no address, no errno.
func TestRelayFailuresLookAlike(t *testing.T) {
	for state, addr := range portStates(t) {
		t.Run(state, func(t *testing.T) {
			s := withSettings(New(Config{ReplySecret: testSecret, Dialer: loopbackDialer,
				DialTimeout: 200 * time.Millisecond, CommandTimeout: 100 * time.Millisecond}),
				fixedSettings(practiceRelay(addr)))
			defer s.Close()
			_, err := send(t, s, testMessage())
			if err == nil || hub.IsPermanent(err) {
				t.Fatalf("err = %v, want a temporary error", err)
			}
			want := "temporary: connection failed"
			if state == "silent" {
				want = "temporary: timed out"
			}
			if got := hub.ErrorText("temporary", err); got != want {
				t.Errorf("last error %q (from %v), want %q", got, err, want)
			}
		})
	}
}

// TestRelayRefusalShowsCodesOnly: a refusal during the transaction keeps
// its reason code and SMTP codes, never the relay's words (which name the
// recipient here).
func TestRelayRefusalShowsCodesOnly(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", nil)
	relay.fail(nil, smtpErr(550, [3]int{5, 1, 1}, "<hemi@example.net>: Recipient address rejected: User unknown in mail.internal.lan"), nil)
	s := withSettings(New(Config{ReplySecret: testSecret, Dialer: loopbackDialer}), fixedSettings(practiceRelay(relay.addr)))
	defer s.Close()
	_, err := send(t, s, testMessage())
	assertReason(t, err, ReasonMailboxUnavailable)
	got := hub.ErrorText(ReasonMailboxUnavailable, err)
	if got != "mailbox_unavailable: relay refused rcpt (550 5.1.1)" {
		t.Errorf("last error %q", got)
	}
	if strings.Contains(got, "internal") || strings.Contains(got, "hemi") {
		t.Errorf("last error quotes the relay: %q", got)
	}
}
