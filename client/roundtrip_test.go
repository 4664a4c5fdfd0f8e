package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/hubtest"
)

// TestSecureRoundTrip runs the whole end-to-end path through a real hub on
// both backends: keys, team key and grants, patient -> staff and back with
// signatures verified, a second staff member reading through their grant,
// a rotation that shuts that member out of new messages, and finally a scan
// of every database row for the plaintexts.
func TestSecureRoundTrip(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) { testSecureRoundTrip(t, backend) })
	}
}

func testSecureRoundTrip(t *testing.T, backend string) {
	ctx := context.Background()
	h, c := startHub(t, backend)
	s1 := addStaff(t, h, "mere@kowhai.example.nz", "Dr Mere Tane")
	s2 := addStaff(t, h, "hemi@kowhai.example.nz", "Hemi Walker")
	patient := newPerson(t, "Aroha Ngata", "aroha@example.nz")
	mere := newPerson(t, "Dr Mere Tane", "mere@kowhai.example.nz")
	hemi := newPerson(t, "Hemi Walker", "hemi@kowhai.example.nz")

	p, created, err := c.PutPatient(ctx, "p-1001", client.PatientInput{GivenName: "Aroha", FamilyName: "Ngata",
		Email: "aroha@example.nz", Channels: []string{"portal", "email"}})
	if err != nil || !created || p.ExternalID != "p-1001" {
		t.Fatalf("PutPatient: %+v %v %v", p, created, err)
	}
	if _, created, err = c.PutPatient(ctx, "p-1001", client.PatientInput{GivenName: "Aroha", FamilyName: "Ngata",
		Email: "aroha@example.nz", Channels: []string{"portal", "email"}}); err != nil || created {
		t.Fatalf("replacing: created=%v err=%v", created, err)
	}

	// Typed errors.
	_, err = c.GetPatient(ctx, "p-nobody")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != "not_found" || !client.IsNotFound(err) {
		t.Fatalf("unknown patient: %#v", err)
	}
	_, err = c.PutPatientKey(ctx, "p-1001", []byte("not a key"))
	if !client.IsCode(err, "malformed_key") || !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Field != "key" {
		t.Fatalf("garbage key: %#v", err)
	}

	// Keys: public keys and the locked private keys for other devices.
	if ki, err := c.PutPatientKey(ctx, "p-1001", patient.pub); err != nil || ki.Fingerprint != patient.fp {
		t.Fatalf("PutPatientKey: %+v %v", ki, err)
	}
	if _, err := c.PutPatientLockedKey(ctx, "p-1001", patient.priv); err != nil {
		t.Fatal(err)
	}
	for id, who := range map[string]*person{s1: mere, s2: hemi} {
		if _, err := c.PutStaffKey(ctx, id, who.pub); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutStaffLockedKey(ctx, id, who.priv); err != nil {
			t.Fatal(err)
		}
	}
	lk, err := c.PatientLockedKey(ctx, "p-1001")
	if err != nil || lk.Fingerprint != patient.fp {
		t.Fatalf("PatientLockedKey: %+v %v", lk, err)
	}
	if e, err := pgp.ReadPrivateKey([]byte(lk.Armored), patient.passphrase); err != nil || client.Fingerprint(e) != patient.fp {
		t.Fatalf("the stored locked key does not unlock on another device: %v", err)
	}
	if lk, err := c.StaffLockedKey(ctx, s2); err != nil || lk.Fingerprint != hemi.fp {
		t.Fatalf("StaffLockedKey: %+v %v", lk, err)
	}

	// No team key yet: no thread.
	if _, err := c.CreateThread(ctx, "p-1001", ""); !client.IsCode(err, "no_team_key") {
		t.Fatalf("thread without team key: %v", err)
	}

	// Mere makes the team key and grants it to Hemi.
	team, err := c.TeamInit(ctx, s1, mere.entity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TeamInit(ctx, s1, mere.entity); !errors.Is(err, client.ErrTeamKeyExists) {
		t.Fatalf("second TeamInit: %v", err)
	}
	if _, err := c.TeamGrant(ctx, s1, mere.entity, s2, "00"+hemi.fp[2:]); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("grant to a key that is not the pinned one: %v", err)
	}
	if _, err := c.TeamGrant(ctx, s1, mere.entity, s2, strings.ToLower(hemi.fp)); err != nil {
		t.Fatal(err)
	}
	rk, err := c.RecipientKeys(ctx, "p-1001")
	if err != nil || rk.Patient.Fingerprint != patient.fp || rk.Team.Fingerprint != team.Fingerprint {
		t.Fatalf("RecipientKeys: %+v %v", rk, err)
	}
	staff, err := c.ListStaff(ctx)
	if err != nil || len(staff) != 2 {
		t.Fatalf("ListStaff: %+v %v", staff, err)
	}

	// One thread; the Idempotency-Key makes a retried create a replay.
	ictx := client.WithIdempotencyKey(ctx, "create-thread-1")
	th, err := c.CreateThread(ictx, "p-1001", "results")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.CreateThread(ictx, "p-1001", "results"); err != nil || again.ID != th.ID {
		t.Fatalf("retried create made another thread: %+v %v", again, err)
	}
	if ts, err := c.ListThreads(ctx, client.ThreadFilter{Patient: "p-1001"}); err != nil || len(ts) != 1 {
		t.Fatalf("threads: %+v %v", ts, err)
	}

	m1 := marker(t, "from-patient")
	m2 := marker(t, "from-staff")
	m3 := marker(t, "after-rotation")
	m4 := marker(t, "sms-reply")

	// Refusals on the client before anything is sent.
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(m1), patient.entity, client.PinTeam(patient.fp)); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("wrong team pin: %v", err)
	}
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(m1), mere.entity); !errors.Is(err, client.ErrSignerNotSender) {
		t.Fatalf("staff key signing as the patient: %v", err)
	}

	// Patient -> practice.
	sent, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(m1), patient.entity,
		client.PinPatient(patient.fp), client.PinTeam(team.Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	if sent.Thread != th.ID || sent.TeamFingerprint != team.Fingerprint || sent.Size == 0 {
		t.Fatalf("Sent: %+v", sent)
	}
	mereTeam, err := c.TeamKey(ctx, s1, mere.entity)
	if err != nil || mereTeam.Fingerprint != team.Fingerprint || mereTeam.GrantSigner != mere.fp {
		t.Fatalf("Mere's team key: %+v %v", mereTeam, err)
	}
	ds := readAll(t, c, th.ID, mereTeam.Keyring(), 1)
	wantMessage(t, ds[0], m1, "patient", patient.fp)

	// Practice -> patient.
	if _, err := c.SendSecure(ctx, th.ID, client.AsStaff(s1), []byte(m2), mere.entity); err != nil {
		t.Fatal(err)
	}
	ds = readAll(t, c, th.ID, openpgp.EntityList{patient.entity}, 2)
	wantMessage(t, ds[0], m1, "patient", patient.fp)
	wantMessage(t, ds[1], m2, "staff:"+s1, mere.fp)

	// Hemi reads through his grant (made by Mere: verified against the
	// directory's staff keys).
	hemiTeam, err := c.TeamKey(ctx, s2, hemi.entity)
	if err != nil || hemiTeam.GrantSigner != mere.fp {
		t.Fatalf("Hemi's team key: %+v %v", hemiTeam, err)
	}
	if _, err := client.UnlockTeamKey([]byte(mustGrant(t, c, s2)), hemi.entity); err != nil {
		t.Fatal(err)
	}
	ds = readAll(t, c, th.ID, hemiTeam.Keyring(), 2)
	wantMessage(t, ds[0], m1, "patient", patient.fp)
	wantMessage(t, ds[1], m2, "staff:"+s1, mere.fp)
	// Mere's grant does not open with Hemi's key.
	if _, err := client.UnlockTeamKey([]byte(mustGrant(t, c, s1)), hemi.entity); !errors.Is(err, pgp.ErrNoDecryptionKey) {
		t.Fatalf("Hemi opening Mere's grant: %v", err)
	}

	// Mere rotates the team key without Hemi.
	newTeam, granted, err := c.TeamRotate(ctx, s1, mere.entity, s2)
	if err != nil {
		t.Fatal(err)
	}
	if newTeam.Fingerprint == team.Fingerprint || len(granted) != 1 || granted[0] != s1 || len(newTeam.History) != 1 {
		t.Fatalf("rotation: %s granted %v history %d", newTeam.Fingerprint, granted, len(newTeam.History))
	}
	if _, err := c.GetGrant(ctx, s2); !client.IsCode(err, "no_grant") {
		t.Fatalf("Hemi's grant after rotation: %v", err)
	}
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(m3), patient.entity, client.PinTeam(team.Fingerprint)); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("the old team pin after rotation: %v", err)
	}
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, []byte(m3), patient.entity); err != nil {
		t.Fatal(err)
	}
	// Hemi's old team key reads the old messages and not the new one.
	ds = readAll(t, c, th.ID, hemiTeam.Keyring(), 3)
	wantMessage(t, ds[0], m1, "patient", patient.fp)
	if !errors.Is(ds[2].Err, pgp.ErrNoDecryptionKey) || ds[2].Plaintext != nil {
		t.Fatalf("Hemi read a message sent after he was removed: %v %q", ds[2].Err, ds[2].Plaintext)
	}
	// Mere reads everything with the new key and its history.
	// An SMS reply is sealed on arrival; its plaintext is dropped.
	if _, err := h.App.Core().Messaging.ReceiveReply(ctx, hub.InboundText{PracticeID: h.Practice.ID, Via: "sms",
		From: "+64211234567", ProviderID: "SM-1", ThreadID: th.ID, Text: m4}); err != nil {
		t.Fatal(err)
	}
	mereTeam, err = c.TeamKey(ctx, s1, mere.entity)
	if err != nil || mereTeam.Fingerprint != newTeam.Fingerprint {
		t.Fatalf("Mere's team key after rotation: %+v %v", mereTeam, err)
	}
	ds = readAll(t, c, th.ID, mereTeam.Keyring(), 4)
	wantMessage(t, ds[0], m1, "patient", patient.fp)
	wantMessage(t, ds[1], m2, "staff:"+s1, mere.fp)
	wantMessage(t, ds[2], m3, "patient", patient.fp)
	if d := ds[3]; d.Err != nil || string(d.Plaintext) != m4 || !d.ArrivedUnencrypted || d.Via != "sms" ||
		d.Signature != pgp.Unsigned || d.SenderVerified() {
		t.Fatalf("SMS reply: %+v", d)
	}
	ds = readAll(t, c, th.ID, openpgp.EntityList{patient.entity}, 4)
	if string(ds[3].Plaintext) != m4 {
		t.Fatalf("the patient cannot read their sealed SMS reply: %v", ds[3].Err)
	}

	// Read markers.
	if rm, err := c.MarkRead(ctx, th.ID, client.ReaderStaff); err != nil || rm.Unread != 0 || rm.PatientUnread != 1 {
		t.Fatalf("MarkRead: %+v %v", rm, err)
	}
	closed := "closed"
	if pt, err := c.PatchThread(ctx, th.ID, client.ThreadPatch{Status: &closed}); err != nil || pt.Status != "closed" {
		t.Fatalf("PatchThread: %+v %v", pt, err)
	}

	// Nothing of the plaintexts is stored anywhere.
	n := scanDatabase(t, h.App.Store().DB(), backend, []string{m1, m2, m3, m4}, []string{th.ID, sent.ID, team.Fingerprint})
	t.Logf("%s: scanned %d rows", backend, n)
	if h.Mini != nil {
		if dump := h.Mini.Dump(); strings.Contains(dump, "PLAINTEXT-MARKER") {
			t.Errorf("a plaintext reached Redis")
		}
	}
}

// readAll reads a thread and checks it has n messages.
func readAll(t *testing.T, c *client.Client, threadID string, keys openpgp.EntityList, n int) []client.Decrypted {
	t.Helper()
	ds, err := c.ReadThread(context.Background(), threadID, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Fatalf("%d messages, want %d", len(ds), n)
	}
	return ds
}

// wantMessage checks a decrypted message, its sender and its signature.
func wantMessage(t *testing.T, d client.Decrypted, text, sender, signer string) {
	t.Helper()
	if d.Err != nil {
		t.Fatalf("message %s: %v", d.ID, d.Err)
	}
	if string(d.Plaintext) != text || d.Sender != sender || d.Via != "portal" || d.ArrivedUnencrypted {
		t.Fatalf("message %s: %q from %s via %s (unencrypted %v)", d.ID, d.Plaintext, d.Sender, d.Via, d.ArrivedUnencrypted)
	}
	if d.Signature != pgp.SignatureGood || d.SignerFingerprint != signer || d.SignedBy != sender || !d.SenderVerified() {
		t.Fatalf("message %s: signature %s by %s (%s), want good by %s (%s)", d.ID, d.Signature, d.SignerFingerprint, d.SignedBy, signer, sender)
	}
}

func mustGrant(t *testing.T, c *client.Client, staffID string) string {
	t.Helper()
	g, err := c.GetGrant(context.Background(), staffID)
	if err != nil {
		t.Fatal(err)
	}
	return g.Armored
}
