package sms_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/app"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
	"github.com/karerehub/karere/internal/twiliotest"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "0123456789abcdef0123456789abcdef"
	fromNumber = "+6498001234"
	aroha      = "+64211234567"
)

type fixture struct {
	h      *hubtest.Hub
	twilio *twiliotest.Server
}

func setup(t *testing.T) *fixture {
	f := &fixture{twilio: twiliotest.NewServer(t, accountSID, authToken)}
	f.h = hubtest.Start(t, hubtest.Options{Backend: hubtest.Postgres, RedisDB: testenv.RedisDBSMS, Configure: func(c *app.Config) {
		c.TwilioBaseURL = f.twilio.URL
		c.PublicURL = "https://karere.example.nz"
	}})
	a := hub.Actor{PracticeID: f.h.Practice.ID, ID: "test"}
	if err := f.h.App.Core().Settings.Put(context.Background(), a, hub.SettingSMS, hub.SMSSettings{
		AccountSID: accountSID, AuthToken: authToken, From: fromNumber}); err != nil {
		t.Fatal(err)
	}
	f.h.MustDo(201, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Aroha", "phone": "021 123 4567", "channels": []string{"sms", "portal"}})
	return f
}

// webhook posts a form to a Twilio webhook path, signed with token (or
// with signature when given).
func (f *fixture) webhook(path string, form url.Values, signature string) (int, string) {
	full := f.h.Config.PublicURL + path
	if signature == "" {
		signature = twiliotest.Sign(authToken, full, form)
	}
	req, _ := http.NewRequest("POST", f.h.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "-" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, "")
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	return resp.StatusCode, string(buf[:n])
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
	hubtest.WaitFor(t, 20*time.Second, "delivery "+state, func() bool {
		f.h.MustDo(200, "GET", "/v1/deliveries/"+id, nil).JSON(t, &d)
		return d.State == state
	})
	return d
}

// TestSMSSendAndStatusCallback: a notice goes out through twilio-go to the
// loopback API with the practice's sender and a status callback; Twilio's
// signed callback marks it delivered; forged callbacks change nothing.
func TestSMSSendAndStatusCallback(t *testing.T) {
	f := setup(t)
	id := f.notice(t, "Kia ora! Your flu vaccine is due.")
	d := f.waitDelivery(t, id, "sent")
	posted := f.twilio.Sent()
	if len(posted) != 1 {
		t.Fatalf("%d messages posted to Twilio, want 1", len(posted))
	}
	p := posted[0]
	if p.Get("To") != aroha || p.Get("From") != fromNumber || p.Get("Body") != "Kia ora! Your flu vaccine is due." {
		t.Errorf("posted %v", p)
	}
	wantCB := "https://karere.example.nz/v1/webhooks/twilio/status?practice=" + f.h.Practice.ID
	if p.Get("StatusCallback") != wantCB {
		t.Errorf("StatusCallback %q, want %q", p.Get("StatusCallback"), wantCB)
	}
	sid := *d.ProviderID
	path := "/v1/webhooks/twilio/status?practice=" + f.h.Practice.ID
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}, "To": {aroha}, "From": {fromNumber}}

	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("MessageStatus", "undelivered")
	tests := []struct {
		name string
		path string
		form url.Values
		sig  string
	}{
		{"missing signature", path, form, "-"},
		{"wrong signature", path, form, "bm90IGEgc2lnbmF0dXJl"},
		{"tampered body", path, tampered, twiliotest.Sign(authToken, f.h.Config.PublicURL+path, form)},
		{"tampered url", path, form, twiliotest.Sign(authToken, f.h.Config.PublicURL+"/v1/webhooks/twilio/status?practice=prc_other", form)},
		{"wrong token", path, form, twiliotest.Sign("ffffffffffffffffffffffffffffffff", f.h.Config.PublicURL+path, form)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := f.webhook(tc.path, tc.form, tc.sig); st != 403 {
				t.Errorf("status %d, want 403", st)
			}
			var now delivery
			f.h.MustDo(200, "GET", "/v1/deliveries/"+id, nil).JSON(t, &now)
			if now.State != "sent" {
				t.Errorf("a refused callback changed the delivery to %s", now.State)
			}
		})
	}
	for i := 0; i < 2; i++ { // Twilio retries callbacks: the second is harmless
		if st, body := f.webhook(path, form, ""); st != 200 {
			t.Fatalf("signed callback: %d %s", st, body)
		}
	}
	f.waitDelivery(t, id, "delivered")
}

// TestSMSReplyEncryptedOnArrival: a patient's text lands in their thread,
// encrypted to the patient's and team's keys; the plaintext is nowhere in
// the database; a replayed MessageSid is stored once.
func TestSMSReplyEncryptedOnArrival(t *testing.T) {
	f := setup(t)
	keys := f.h.RegisterKeys("p-1")
	const text = "My rash is worse since Tuesday, marker-7f3a"
	path := "/v1/webhooks/twilio/sms?practice=" + f.h.Practice.ID
	form := url.Values{"MessageSid": {"SM11111111111111111111111111111111"}, "AccountSid": {accountSID},
		"From": {aroha}, "To": {fromNumber}, "Body": {text}, "NumMedia": {"0"}}
	for i := 0; i < 3; i++ {
		st, body := f.webhook(path, form, "")
		if st != 200 || !strings.Contains(body, "<Response") {
			t.Fatalf("inbound: %d %s", st, body)
		}
		if strings.Contains(body, "rash") {
			t.Errorf("TwiML echoes the text: %s", body)
		}
	}
	var threads struct {
		Threads []struct {
			ID     string
			Unread int
		}
	}
	f.h.MustDo(200, "GET", "/v1/threads?patient=p-1", nil).JSON(t, &threads)
	if len(threads.Threads) != 1 || threads.Threads[0].Unread != 1 {
		t.Fatalf("threads: %+v", threads)
	}
	var msgs struct {
		Messages []struct {
			Via                string
			ArrivedUnencrypted bool `json:"arrived_unencrypted"`
			Sender             string
			Ciphertext         string
		}
	}
	f.h.MustDo(200, "GET", "/v1/threads/"+threads.Threads[0].ID+"/messages", nil).JSON(t, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("%d messages for a MessageSid posted three times, want 1", len(msgs.Messages))
	}
	m := msgs.Messages[0]
	if m.Via != "sms" || !m.ArrivedUnencrypted || m.Sender != "patient" {
		t.Errorf("message metadata: %+v", m)
	}
	for name, e := range map[string]*openpgp.Entity{"team": keys.Team, "patient": keys.Patient} {
		pt, err := pgp.Decrypt([]byte(m.Ciphertext), openpgp.EntityList{e}, nil)
		if err != nil || string(pt.Data) != text {
			t.Errorf("%s key cannot read the reply: %v", name, err)
		}
	}
	assertNoPlaintext(t, f.h, "marker-7f3a")
}

// assertNoPlaintext reads every column of every table and fails if marker
// appears anywhere.
func assertNoPlaintext(t *testing.T, h *hubtest.Hub, marker string) {
	t.Helper()
	db := h.App.Store().DB()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	for _, tb := range tables {
		r, err := db.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if strings.Contains(fmt.Sprintf("%s", v), marker) {
					t.Errorf("plaintext found in %s.%s", tb, cols[i])
				}
			}
		}
		r.Close()
	}
}

// TestSMSStopAndStart: STOP opts the number out (the next SMS fails
// opted_out and the portal is used instead); START opts back in.
func TestSMSStopAndStart(t *testing.T) {
	f := setup(t)
	path := "/v1/webhooks/twilio/sms?practice=" + f.h.Practice.ID
	kw := func(sid, body string) {
		st, resp := f.webhook(path, url.Values{"MessageSid": {sid}, "From": {aroha}, "To": {fromNumber}, "Body": {body}, "AccountSid": {accountSID}}, "")
		if st != 200 {
			t.Fatalf("%s: %d %s", body, st, resp)
		}
	}
	kw("SM000000000000000000000000000000a1", " stop ")
	id := f.notice(t, "Your results are ready in the portal.")
	d := f.waitDelivery(t, id, "failed")
	if d.LastError == nil || !strings.HasPrefix(*d.LastError, "opted_out") {
		t.Errorf("last error %v, want opted_out", d.LastError)
	}
	if n := len(f.twilio.Sent()); n != 0 {
		t.Errorf("%d texts sent to an opted-out number", n)
	}
	var list struct{ Deliveries []delivery }
	hubtest.WaitFor(t, 10*time.Second, "portal fallback", func() bool {
		f.h.MustDo(200, "GET", "/v1/deliveries?patient=p-1&state=sent", nil).JSON(t, &list)
		return len(list.Deliveries) == 1 && list.Deliveries[0].Channel == "portal"
	})
	kw("SM000000000000000000000000000000a2", "START")
	id = f.notice(t, "Second notice")
	f.waitDelivery(t, id, "sent")
	if n := len(f.twilio.Sent()); n != 1 {
		t.Errorf("%d texts after START, want 1", n)
	}
}

// TestSMSKeywordReplayIgnored: STOP (sid A), START (sid B), STOP (sid
// C), then sid B again, as a retry or a captured signed request would
// come: the replay changes nothing and the number stays opted out. A
// replayed HELP is not answered twice, and a replayed Y does not undo a
// later N.
func TestSMSKeywordReplayIgnored(t *testing.T) {
	f := setup(t)
	path := "/v1/webhooks/twilio/sms?practice=" + f.h.Practice.ID
	kw := func(sid, body string) string {
		t.Helper()
		st, resp := f.webhook(path, url.Values{"MessageSid": {sid}, "From": {aroha}, "To": {fromNumber}, "Body": {body}, "AccountSid": {accountSID}}, "")
		if st != 200 {
			t.Fatalf("%s %s: %d %s", sid, body, st, resp)
		}
		return resp
	}
	optedOut := func() bool {
		var p map[string]any
		f.h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
		return p["sms_opted_out_at"] != nil
	}
	const a, b, c = "SM0000000000000000000000000000000a", "SM0000000000000000000000000000000b", "SM0000000000000000000000000000000c"
	kw(a, "STOP")
	if !optedOut() {
		t.Fatal("STOP (A) did not opt out")
	}
	if resp := kw(b, "START"); !strings.Contains(resp, "You will get texts") {
		t.Errorf("START (B) answered %s", resp)
	}
	if optedOut() {
		t.Fatal("START (B) did not opt back in")
	}
	kw(c, "STOP")
	if resp := kw(b, "START"); strings.Contains(resp, "<Message>") {
		t.Errorf("replayed START (B) answered %s", resp)
	}
	if !optedOut() {
		t.Fatal("the replayed START (B) undid the later STOP (C)")
	}
	id := f.notice(t, "Your results are ready in the portal.")
	if d := f.waitDelivery(t, id, "failed"); d.LastError == nil || !strings.HasPrefix(*d.LastError, "opted_out") {
		t.Errorf("after the replay: %+v", d)
	}

	if resp := kw("SM000000000000000000000000000000h1", "HELP"); !strings.Contains(resp, "<Message>") {
		t.Errorf("HELP answered %s", resp)
	}
	if resp := kw("SM000000000000000000000000000000h1", "HELP"); strings.Contains(resp, "<Message>") {
		t.Errorf("replayed HELP answered again: %s", resp)
	}
	p, err := f.h.App.Store().GetPatient(t.Context(), f.h.Practice.ID, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.h.App.Store().ListAudit(t.Context(), f.h.Practice.ID, p.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "sms.opt_") {
			changes = append(changes, e.Action)
		}
	}
	if len(changes) != 3 {
		t.Errorf("opt-in/out audit events %v, want 3 (A, B, C)", changes)
	}
}

// TestSMSOutage: Twilio answers 503 for a while; every SMS is delivered
// after it recovers, none twice.
func TestSMSOutage(t *testing.T) {
	f := setup(t)
	f.twilio.Fail(503, 20500)
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, f.notice(t, fmt.Sprintf("Outage notice %d", i)))
	}
	time.Sleep(1500 * time.Millisecond)
	var d delivery
	f.h.MustDo(200, "GET", "/v1/deliveries/"+ids[0], nil).JSON(t, &d)
	if d.State != "pending" || d.LastError == nil {
		t.Errorf("during the outage: %+v", d)
	}
	f.twilio.Fail(0, 0)
	for _, id := range ids {
		f.waitDelivery(t, id, "sent")
	}
	seen := map[string]int{}
	for _, p := range f.twilio.Sent() {
		seen[p.Get("Body")]++
	}
	for i := 0; i < 10; i++ {
		if n := seen[fmt.Sprintf("Outage notice %d", i)]; n != 1 {
			t.Errorf("notice %d sent %d times", i, n)
		}
	}
}

// TestSMSInvalidNumberFallsBack: Twilio's 21211 fails the SMS permanently
// and the portal is used.
func TestSMSInvalidNumberFallsBack(t *testing.T) {
	f := setup(t)
	f.twilio.Fail(400, 21211)
	id := f.notice(t, "Hello")
	d := f.waitDelivery(t, id, "failed")
	if d.LastError == nil || !strings.HasPrefix(*d.LastError, "invalid_number") {
		t.Errorf("last error %v", d.LastError)
	}
	var list struct{ Deliveries []delivery }
	hubtest.WaitFor(t, 10*time.Second, "portal fallback", func() bool {
		f.h.MustDo(200, "GET", "/v1/deliveries?patient=p-1&state=sent", nil).JSON(t, &list)
		return len(list.Deliveries) == 1 && list.Deliveries[0].Channel == "portal"
	})
}

// TestSMSReplyWithoutPatientKey: a patient who never used the portal has
// no key; their text is sealed to the team key alone and the practice can
// read it. A text from an unknown number is answered and dropped.
func TestSMSReplyWithoutPatientKey(t *testing.T) {
	f := setup(t)
	pass := []byte("correct horse battery staple")
	priv, pub, err := pgp.GenerateKey("Team", "", pass, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	team, err := pgp.ReadPrivateKey(priv, pass)
	if err != nil {
		t.Fatal(err)
	}
	f.h.MustDo(200, "PUT", "/v1/team-key", string(pub), "Content-Type", "application/pgp-keys")
	path := "/v1/webhooks/twilio/sms?practice=" + f.h.Practice.ID
	post := func(sid, from, body string) {
		st, resp := f.webhook(path, url.Values{"MessageSid": {sid}, "From": {from}, "To": {fromNumber}, "Body": {body}, "AccountSid": {accountSID}}, "")
		if st != 200 || !strings.Contains(resp, "<Response") {
			t.Fatalf("inbound: %d %s", st, resp)
		}
	}
	post("SM000000000000000000000000000000b1", aroha, "Can I change my appointment?")
	post("SM000000000000000000000000000000b2", "+64219999999", "Who is this?")
	var threads struct{ Threads []struct{ ID string } }
	f.h.MustDo(200, "GET", "/v1/threads", nil).JSON(t, &threads)
	if len(threads.Threads) != 1 {
		t.Fatalf("threads: %+v", threads)
	}
	var msgs struct{ Messages []struct{ Ciphertext string } }
	f.h.MustDo(200, "GET", "/v1/threads/"+threads.Threads[0].ID+"/messages", nil).JSON(t, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("%d messages", len(msgs.Messages))
	}
	pt, err := pgp.Decrypt([]byte(msgs.Messages[0].Ciphertext), openpgp.EntityList{team}, nil)
	if err != nil || string(pt.Data) != "Can I change my appointment?" {
		t.Errorf("team reads %q (%v)", pt.Data, err)
	}
}

// TestSMSGuardianStop: a guardian who receives a child's texts can stop
// them from their own phone.
func TestSMSGuardianStop(t *testing.T) {
	f := setup(t)
	const mere = "+64219876543"
	f.h.MustDo(201, "PUT", "/v1/patients/p-child", map[string]any{"given_name": "Tama", "date_of_birth": "2017-05-01",
		"channels": []string{"sms"}, "guardian": map[string]any{"name": "Mere", "phone": mere}})
	path := "/v1/webhooks/twilio/sms?practice=" + f.h.Practice.ID
	if st, _ := f.webhook(path, url.Values{"MessageSid": {"SM000000000000000000000000000000c1"}, "From": {mere}, "To": {fromNumber},
		"Body": {"STOP"}, "AccountSid": {accountSID}}, ""); st != 200 {
		t.Fatalf("STOP: %d", st)
	}
	var p map[string]any
	f.h.MustDo(200, "GET", "/v1/patients/p-child", nil).JSON(t, &p)
	if p["sms_opted_out_at"] == nil {
		t.Errorf("guardian's STOP did not stop the child's texts: %v", p)
	}
	f.h.MustDo(200, "GET", "/v1/patients/p-1", nil).JSON(t, &p)
	if p["sms_opted_out_at"] != nil {
		t.Errorf("another patient was opted out: %v", p)
	}
}
