package email_test

import (
	"net/mail"
	"testing"
	"time"

	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/hubtest"
)

// replyFrom is a plain reply to a notice, from the given From header.
func replyFrom(from, to, messageID, text string) []byte {
	return []byte("From: " + from + "\r\nTo: " + to + "\r\nSubject: Re: your notice\r\nMessage-ID: <" + messageID +
		">\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		text + "\r\n")
}

// TestEmailReplySenderUnverified: a reply to a genuine reply address is
// kept whoever sends it, but one from an address that is neither the
// patient's nor the guardian's is flagged sender_unverified in GET
// /v1/threads/{id}/messages.
func TestEmailReplySenderUnverified(t *testing.T) {
	f := setup(t, "")
	f.h.RegisterKeys("p-1")
	id := f.notice(t, "Your repeat prescription is ready to collect.")
	f.waitDelivery(t, id, "sent")
	h, _ := header(t, f.relay.messages()[0].data)
	replyTo, err := mail.ParseAddress(h.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ from, id string }{
		{"Hemi <HEMI@example.nz>", "r1@example.nz"},
		{"Someone <stranger@example.org>", "r2@example.org"},
	} {
		if err := f.sendMail("bounces@example.org", replyTo.Address, replyFrom(r.from, replyTo.Address, r.id, "Thanks")); err != nil {
			t.Fatalf("reply from %s: %v", r.from, err)
		}
	}
	// The guardian's address is verified too.
	f.h.MustDo(200, "PUT", "/v1/patients/p-1", map[string]any{"given_name": "Hemi", "email": "hemi@example.nz",
		"channels": []string{"email", "portal"}, "locale": "mi-NZ", "guardian": map[string]any{"name": "Mere", "email": "mere@example.nz"}})
	if err := f.sendMail("", replyTo.Address, replyFrom("mere@example.nz", replyTo.Address, "r3@example.nz", "Thanks")); err != nil {
		t.Fatal(err)
	}
	var threads struct{ Threads []struct{ ID string } }
	f.h.MustDo(200, "GET", "/v1/threads?patient=p-1", nil).JSON(t, &threads)
	if len(threads.Threads) != 1 {
		t.Fatalf("threads: %+v", threads)
	}
	var ms struct {
		Messages []struct {
			SenderUnverified bool `json:"sender_unverified"`
		}
	}
	f.h.MustDo(200, "GET", "/v1/threads/"+threads.Threads[0].ID+"/messages", nil).JSON(t, &ms)
	if len(ms.Messages) != 3 || ms.Messages[0].SenderUnverified || !ms.Messages[1].SenderUnverified || ms.Messages[2].SenderUnverified {
		t.Errorf("sender_unverified of patient, stranger, guardian: %+v", ms.Messages)
	}
}

// TestEmailReplyToThreadToken: the email notice of a staff member's
// secure message carries the thread's reply address; a reply to it lands
// in that thread (the inbound server finds the thread without knowing its
// practice).
func TestEmailReplyToThreadToken(t *testing.T) {
	f := setup(t, "")
	keys := f.h.RegisterKeys("p-1")
	st, err := f.h.App.Core().Directory.AddStaff(t.Context(), f.h.Practice.ID, "nurse@kowhai.example", "Nurse Mere", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var th struct{ ID string }
	f.h.MustDo(201, "POST", "/v1/threads", map[string]any{"patient": "p-1"}).JSON(t, &th)
	var ks struct{ Patient, Team struct{ Armored string } }
	f.h.MustDo(200, "GET", "/v1/keys/p-1", nil).JSON(t, &ks)
	var recipients []*pgp.PublicKey
	for _, a := range []string{ks.Patient.Armored, ks.Team.Armored} {
		k, err := pgp.ParsePublicKey([]byte(a), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		recipients = append(recipients, k)
	}
	msg, err := pgp.Encrypt([]byte("Your results are in."), recipients, keys.Team)
	if err != nil {
		t.Fatal(err)
	}
	f.h.MustDo(201, "POST", "/v1/threads/"+th.ID+"/messages?sender=staff:"+st.ID, string(msg), "Content-Type", "text/plain")
	hubtest.WaitFor(t, 20*time.Second, "the notice email", func() bool { return len(f.relay.messages()) == 1 })
	h, _ := header(t, f.relay.messages()[0].data)
	replyTo, err := mail.ParseAddress(h.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sendMail("", replyTo.Address, replyFrom("hemi@example.nz", replyTo.Address, "r1@example.nz", "Thanks")); err != nil {
		t.Fatalf("reply to the thread's address: %v", err)
	}
	var ms struct{ Messages []struct{ Via string } }
	f.h.MustDo(200, "GET", "/v1/threads/"+th.ID+"/messages", nil).JSON(t, &ms)
	if n := len(ms.Messages); n != 2 || ms.Messages[1].Via != "email" {
		t.Errorf("thread messages: %+v", ms.Messages)
	}
}

// TestEmailBounceForAnotherAddressIgnored: a DSN sent to the bounce
// address whose recipient is not the patient's (or guardian's) address
// changes nothing: the delivery stays sent and email is not stopped.
func TestEmailBounceForAnotherAddressIgnored(t *testing.T) {
	f := setup(t, "")
	id := f.notice(t, "First notice")
	f.waitDelivery(t, id, "sent")
	bounceTo := f.relay.messages()[0].from
	dsn := func(recipient string) []byte {
		return []byte("From: MAILER-DAEMON@mx.example.nz\r\nTo: " + bounceTo + "\r\nSubject: Undelivered Mail\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n" +
			"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.nz\r\n\r\n" +
			"Final-Recipient: rfc822; " + recipient + "\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n")
	}
	if err := f.sendMail("", bounceTo, dsn("someone.else@example.org")); err != nil {
		t.Fatalf("bounce: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the bounce is handled before the SMTP answer; nothing should follow
	if d := f.waitDelivery(t, id, "sent"); d.LastError != nil {
		t.Errorf("delivery after a bounce for another address: %+v", d)
	}
	if f.emailOptedOut(t) {
		t.Fatal("a bounce for another address stopped the patient's email")
	}
	// The same report for the patient's address (any case) is applied.
	if err := f.sendMail("", bounceTo, dsn("Hemi@Example.NZ")); err != nil {
		t.Fatalf("bounce: %v", err)
	}
	f.waitDelivery(t, id, "bounced")
	if !f.emailOptedOut(t) {
		t.Error("a hard bounce for the patient's address did not stop email")
	}
}
