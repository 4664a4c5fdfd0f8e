package api_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

const hookSecret = "whsec_0123456789abcdef"

// startWithPolicy starts a hub whose target guard allows only allow (""
// is the production default: no private target at all).
func startWithPolicy(t *testing.T, allow string) *hubtest.Hub {
	return hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBAPI,
		Configure: func(c *app.Config) { c.AllowedPrivateTargets = allow }})
}

// fakePMS counts the webhook POSTs it gets.
type fakePMS struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func newFakePMS(t *testing.T) *fakePMS {
	p := &fakePMS{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePMS) port() string { return p.srv.URL[strings.LastIndexByte(p.srv.URL, ':')+1:] }

// emitEvent makes the hub emit one webhook event (delivery.failed: an
// SMS-only patient who texted STOP) and returns the practice's events
// once one has been tried.
func emitEvent(t *testing.T, h *hubtest.Hub, patient string) webhookEvent {
	t.Helper()
	phone := "+6421" + strconv.Itoa(1000000+int(phones.Add(1)))
	h.MustDo(201, "PUT", "/v1/patients/"+patient, map[string]any{"given_name": "Hemi", "phone": phone, "channels": []string{"sms"}})
	if err := h.App.Core().Patients.SetOptOut(t.Context(), h.Practice.ID, hub.ChannelSMS, phone, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": patient, "text": "Flu vaccines are in."})
	var ev webhookEvent
	hubtest.WaitFor(t, 15*time.Second, "a webhook attempt", func() bool {
		var evs struct{ Events []webhookEvent }
		h.MustDo(200, "GET", "/v1/webhooks/events", nil).JSON(t, &evs)
		if len(evs.Events) == 0 || evs.Events[0].Attempts == 0 {
			return false
		}
		ev = evs.Events[0]
		return true
	})
	return ev
}

var phones atomic.Int32

type webhookEvent struct {
	ID, State string
	Attempts  int
	LastError *string `json:"last_error"`
}

// TestTargetRefusedAtSave: webhook URLs and relays that are, or resolve
// to, loopback, private, link-local or otherwise internal addresses are
// refused when saved, with 422 target_not_allowed naming the field.
func TestTargetRefusedAtSave(t *testing.T) {
	h := startWithPolicy(t, "")
	h.DNS.Set("loopback.kowhai.test", "127.0.0.1")
	h.DNS.Set("metadata.kowhai.test", "169.254.169.254")
	h.DNS.Set("mixed.kowhai.test", "1.1.1.1", "10.0.0.9")
	h.DNS.Set("public.kowhai.test", "1.1.1.1", "2606:4700::1111")
	refused := []string{
		"https://127.0.0.1/karere",
		"https://127.9.9.9:6379/",
		"https://[::1]/karere",
		"http://localhost:8080/karere",
		"https://localhost/karere",
		"https://169.254.169.254/latest/meta-data/",
		"https://10.1.2.3/karere",
		"https://172.16.0.1/karere",
		"https://192.168.1.10/karere",
		"https://100.64.0.1/karere",
		"https://0.0.0.0/karere",
		"https://[fd00::1]/karere",
		"https://[fe80::1]/karere",
		"https://[::ffff:127.0.0.1]/karere",
		"https://loopback.kowhai.test/karere",
		"https://metadata.kowhai.test/karere",
		"https://mixed.kowhai.test/karere",
	}
	for _, u := range refused {
		t.Run(u, func(t *testing.T) {
			r := h.Do("PUT", "/v1/settings/webhooks", "", map[string]any{"url": u, "secret": hookSecret})
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			r.JSON(t, &e)
			if r.Status != 422 || e.Error.Code != "target_not_allowed" || e.Error.Field != "url" ||
				!strings.Contains(e.Error.Message, "KARERE_ALLOWED_PRIVATE_TARGETS") {
				t.Errorf("PUT %s: %d %s", u, r.Status, r.Body)
			}
		})
	}
	for _, relay := range []map[string]any{
		{"relay_host": "127.0.0.1", "relay_port": 6379, "tls": "none"},
		{"relay_host": "::1", "relay_port": 25, "tls": "none"},
		{"relay_host": "localhost"},
		{"relay_host": "10.0.0.5", "relay_port": 587},
		{"relay_host": "fd00::1", "relay_port": 587},
		{"relay_host": "169.254.169.254", "relay_port": 80},
		{"relay_host": "loopback.kowhai.test", "tls": "implicit"},
	} {
		relay["from"] = "Kōwhai Health <noreply@kowhai.example.nz>"
		r := h.Do("PUT", "/v1/settings/email", "", relay)
		if r.Status != 422 || r.ErrorCode() != "target_not_allowed" || !strings.Contains(string(r.Body), `"field":"relay_host"`) {
			t.Errorf("PUT email %v: %d %s", relay, r.Status, r.Body)
		}
	}
	if n := h.DNS.Queries("loopback.kowhai.test"); n == 0 {
		t.Error("the names were not resolved through the guard's resolver")
	}

	// Public targets, and a name that does not resolve now (checked again
	// at every connection), are saved.
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "https://public.kowhai.test/karere", "secret": hookSecret})
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "https://pms.not-yet.test/karere"})
	h.MustDo(200, "PUT", "/v1/settings/email", map[string]any{"from": "noreply@kowhai.example.nz", "relay_host": "public.kowhai.test"})
}

// TestTargetHubOwnListenerRefused: even with loopback allowed (hubtest's
// allow-list), the hub may not be pointed at its own API.
func TestTargetHubOwnListenerRefused(t *testing.T) {
	h := start(t, hubtest.Postgres)
	r := h.Do("PUT", "/v1/settings/webhooks", "", map[string]any{"url": h.URL + "/v1/notices", "secret": hookSecret})
	if r.Status != 422 || r.ErrorCode() != "target_not_allowed" {
		t.Fatalf("webhook to the hub's own API: %d %s", r.Status, r.Body)
	}
	pms := newFakePMS(t)
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": pms.srv.URL + "/karere", "secret": hookSecret})
}

// TestTargetAllowListLetsOnPremisesPMSThrough: an operator allow-lists
// the practice's PMS (ip:port): that one endpoint is saved and receives
// its events; another port on the same host stays refused.
func TestTargetAllowListLetsOnPremisesPMSThrough(t *testing.T) {
	pms := newFakePMS(t)
	h := startWithPolicy(t, "127.0.0.1:"+pms.port())
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": pms.srv.URL + "/karere", "secret": hookSecret})
	ev := emitEvent(t, h, "p-1")
	hubtest.WaitFor(t, 10*time.Second, "the event sent", func() bool {
		var evs struct{ Events []webhookEvent }
		h.MustDo(200, "GET", "/v1/webhooks/events", nil).JSON(t, &evs)
		return evs.Events[0].ID == ev.ID && evs.Events[0].State == "sent"
	})
	if pms.hits.Load() != 1 {
		t.Errorf("the PMS got %d requests, want 1", pms.hits.Load())
	}
	other := newFakePMS(t)
	r := h.Do("PUT", "/v1/settings/webhooks", "", map[string]any{"url": other.srv.URL + "/karere"})
	if r.Status != 422 || r.ErrorCode() != "target_not_allowed" {
		t.Errorf("another port: %d %s", r.Status, r.Body)
	}
}

// TestTargetRebindingRefusedAtDial: the webhook host resolves to a public
// address when saved and to loopback when the event is sent. The dialer's
// Control hook checks the address it connects to: the event fails at once
// with the policy's text, and nothing listening on loopback is reached.
func TestTargetRebindingRefusedAtDial(t *testing.T) {
	pms := newFakePMS(t)
	h := startWithPolicy(t, "")
	h.DNS.Set("pms.kowhai.test", "1.1.1.1")
	h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "https://pms.kowhai.test:" + pms.port() + "/karere", "secret": hookSecret})
	h.DNS.Set("pms.kowhai.test", "127.0.0.1")
	ev := emitEvent(t, h, "p-1")
	if ev.State != "failed" || ev.Attempts != 1 || ev.LastError == nil || *ev.LastError != "target_not_allowed: refused by target policy" {
		t.Errorf("event %+v (last error %v)", ev, strOf(ev.LastError))
	}
	if pms.hits.Load() != 0 {
		t.Errorf("the loopback PMS was reached %d times", pms.hits.Load())
	}
}

// TestTargetRelayRebindingFailsDeliveryAndFallsBack: the same for a
// practice's SMTP relay: the email delivery fails for good with the
// policy's reason, and the portal carries the notice.
func TestTargetRelayRebindingFailsDeliveryAndFallsBack(t *testing.T) {
	relay := listen(t, func(c net.Conn) { c.Write([]byte("220 relay ESMTP\r\n")); c.Close() })
	h := startWithPolicy(t, "")
	h.DNS.Set("smtp.kowhai.test", "1.1.1.1")
	h.MustDo(200, "PUT", "/v1/settings/email", map[string]any{"from": "noreply@kowhai.example.nz",
		"relay_host": "smtp.kowhai.test", "relay_port": portOf(relay.addr), "tls": "none"})
	h.DNS.Set("smtp.kowhai.test", "127.0.0.1")
	h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "email": "hemi@example.nz", "channels": []string{"email", "portal"}})
	var out struct{ Deliveries []deliveryOut }
	h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": "p-1", "text": "Flu vaccines are in."}).JSON(t, &out)
	d := waitState(t, h, "", out.Deliveries[0].ID, "failed")
	if d.Attempts != 1 || strOf(d.LastError) != "target_not_allowed: refused by target policy" {
		t.Errorf("email delivery: %+v, last error %q", d, strOf(d.LastError))
	}
	hubtest.WaitFor(t, 10*time.Second, "portal fallback sent", func() bool {
		var list struct{ Deliveries []deliveryOut }
		h.MustDo(200, "GET", "/v1/deliveries?patient=p-1&state=sent", nil).JSON(t, &list)
		return len(list.Deliveries) == 1 && list.Deliveries[0].Channel == "portal"
	})
	if relay.accepts.Load() != 0 {
		t.Errorf("the loopback relay was reached %d times", relay.accepts.Load())
	}
}

// TestTargetFailuresLookAlike: whatever answers on a port (nothing, a
// closed connection, another protocol's banner, an SMTP server naming
// itself), what GET /v1/webhooks/events and GET /v1/deliveries/{id} show
// is the same uniform text, so an API key cannot be used to scan ports.
// (Timeouts, the third text, are asserted in channels/email, where the
// relay's timeouts can be made short.)
func TestTargetFailuresLookAlike(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	states := map[string]string{
		"closed port": closedPort(t),
		"eof":         listen(t, func(c net.Conn) { c.Close() }).addr,
		"redis banner": listen(t, func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("-ERR unknown command, redis_version:7.2.4\r\n"))
			bufio.NewReader(c).ReadString('\n')
		}).addr,
		"smtp banner": listen(t, func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("554 5.7.1 mail.internal.kowhai.lan ESMTP Postfix: go away 10.0.0.7\r\n"))
			bufio.NewReader(c).ReadString('\n')
		}).addr,
	}
	h := start(t, hubtest.Postgres) // loopback allowed: the ports are reachable
	seen := map[string]string{}
	i := 0
	for state, addr := range states {
		i++
		h.MustDo(200, "PUT", "/v1/settings/webhooks", map[string]any{"url": "http://" + addr + "/karere", "secret": hookSecret})
		ev := emitEvent(t, h, "p-hook-"+strconv.Itoa(i))
		seen["webhook, "+state] = strOf(ev.LastError)

		h.MustDo(200, "PUT", "/v1/settings/email", map[string]any{"from": "noreply@kowhai.example.nz",
			"relay_host": "127.0.0.1", "relay_port": portOf(addr), "tls": "none"})
		p := "p-mail-" + strconv.Itoa(i)
		h.MustDo(201, "PUT", "/v1/patients/"+p, map[string]any{"given_name": "Hemi", "email": "hemi@example.nz", "channels": []string{"email"}})
		var out struct{ Deliveries []deliveryOut }
		h.MustDo(202, "POST", "/v1/notices", map[string]any{"patient": p, "text": "Flu vaccines are in."}).JSON(t, &out)
		var d deliveryOut
		hubtest.WaitFor(t, 15*time.Second, "an email attempt", func() bool {
			h.MustDo(200, "GET", "/v1/deliveries/"+out.Deliveries[0].ID, nil).JSON(t, &d)
			return d.LastError != nil
		})
		seen["email, "+state] = strOf(d.LastError)
	}
	for what, got := range seen {
		if got != "temporary: connection failed" {
			t.Errorf("%s: last error %q, want %q", what, got, "temporary: connection failed")
		}
	}
}

func strOf(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

type fakeServer struct {
	addr    string
	accepts atomic.Int32
}

// listen runs handle for each connection to a loopback port.
func listen(t *testing.T, handle func(net.Conn)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &fakeServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			go handle(c)
		}
	}()
	return s
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func portOf(addr string) int {
	p, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	return p
}
