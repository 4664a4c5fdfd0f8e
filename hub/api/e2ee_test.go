package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/messaging"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// keyHolder is a key pair of the E2EE tests.
type keyHolder struct {
	pass       []byte
	priv, pub  []byte // armored; priv locked
	entity     *openpgp.Entity
	key        *pgp.PublicKey
	fp         string
	unlockedPK []byte // armored private key with no passphrase (for key_not_locked)
}

// e2eeKeyTime is an hour back, so that no check sees a key from the future.
var e2eeKeyTime = time.Now().Add(-time.Hour)

func newKeyHolder(t testing.TB, name, email string) *keyHolder {
	t.Helper()
	pass := []byte("passphrase of " + name)
	priv, pub, err := pgp.GenerateKey(name, email, pass, e2eeKeyTime)
	if err != nil {
		t.Fatal(err)
	}
	e, err := pgp.ReadPrivateKey(priv, pass)
	if err != nil {
		t.Fatal(err)
	}
	k, err := pgp.ParsePublicKey(pub, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &keyHolder{pass: pass, priv: priv, pub: pub, entity: e, key: k, fp: k.Fingerprint,
		unlockedPK: armorPrivate(t, e)}
}

func armorPrivate(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PRIVATE KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

func armorPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

type e2eeKeys struct {
	patient, newPatient, team, staff, staff2, outsider *keyHolder
}

var (
	e2eeOnce sync.Once
	e2eeKS   e2eeKeys
)

// keys are made once per test binary.
func testKeys(t testing.TB) e2eeKeys {
	e2eeOnce.Do(func() {
		e2eeKS = e2eeKeys{
			patient:    newKeyHolder(t, "Aroha Ngata", "aroha@example.nz"),
			newPatient: newKeyHolder(t, "Aroha Ngata new phone", "aroha@example.nz"),
			team:       newKeyHolder(t, "Kowhai team", ""),
			staff:      newKeyHolder(t, "Dr Mere Tane", "mere@kowhai.example.nz"),
			staff2:     newKeyHolder(t, "Hemi Walker", "hemi@kowhai.example.nz"),
			outsider:   newKeyHolder(t, "Someone Else", "else@example.com"),
		}
	})
	if e2eeKS.outsider == nil {
		t.Fatal("making the test keys failed")
	}
	return e2eeKS
}

// e2ee is a hub with a patient (p-1001, Aroha), a staff member, their keys,
// the team key and one thread.
type e2ee struct {
	h       *hubtest.Hub
	ks      e2eeKeys
	staffID string
	staff2  string
	thread  string
}

func e2eeStart(t testing.TB, backend string) *e2ee {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Backend: backend, RedisDB: testenv.RedisDBAPI})
	e := &e2ee{h: h, ks: testKeys(t)}
	e.staffID = e.addStaff(t, "mere@kowhai.example.nz", "Dr Mere Tane")
	e.staff2 = e.addStaff(t, "hemi@kowhai.example.nz", "Hemi Walker")
	e.must(t, 201, "PUT", "/v1/patients/p-1001", aroha)
	e.putKey(t, 200, "/v1/patients/p-1001/key", e.ks.patient.pub, "")
	e.putKey(t, 200, "/v1/staff/"+e.staffID+"/key", e.ks.staff.pub, "")
	e.putKey(t, 200, "/v1/staff/"+e.staff2+"/key", e.ks.staff2.pub, "")
	e.putKey(t, 200, "/v1/team-key", e.ks.team.pub, "")
	var th struct{ ID string }
	e.must(t, 201, "POST", "/v1/threads", map[string]string{"patient": "p-1001"}).JSON(t, &th)
	e.thread = th.ID
	return e
}

func (e *e2ee) addStaff(t testing.TB, email, name string) string {
	t.Helper()
	st, err := e.h.App.Core().Directory.AddStaff(t.Context(), e.h.Practice.ID, email, name, "a long enough password 123")
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

func (e *e2ee) must(t testing.TB, want int, method, path string, body any, headers ...string) *hubtest.Response {
	t.Helper()
	r := e.h.Do(method, path, "", body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// putKey uploads armored text and checks the status and error code.
func (e *e2ee) putKey(t testing.TB, want int, path string, armored []byte, code string) {
	t.Helper()
	r := e.h.Do("PUT", path, "", armored, "Content-Type", "text/plain")
	if r.Status != want || r.ErrorCode() != code {
		t.Fatalf("PUT %s: %d %q, want %d %q: %s", path, r.Status, r.ErrorCode(), want, code, r.Body)
	}
}

// post posts a message body to the thread.
func (e *e2ee) post(thread, sender string, body []byte, contentType string) *hubtest.Response {
	return e.h.Do("POST", "/v1/threads/"+thread+"/messages?sender="+sender, "", body, "Content-Type", contentType)
}

func encrypt(t testing.TB, text string, signer *keyHolder, to ...*keyHolder) []byte {
	t.Helper()
	keys := make([]*pgp.PublicKey, len(to))
	for i, k := range to {
		keys[i] = k.key
	}
	msg, err := pgp.Encrypt([]byte(text), keys, signer.entity)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func dearmorMsg(t testing.TB, armored []byte) []byte {
	t.Helper()
	env, err := pgp.Inspect(bytes.NewReader(armored), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return env.Binary
}

// TestE2EEMessageRefusals posts every kind of message the hub must refuse,
// over HTTP, on both backends.
func TestE2EEMessageRefusals(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			e := e2eeStart(t, backend)
			ks := e.ks
			good := encrypt(t, "fine", ks.patient, ks.patient, ks.team)
			var literal bytes.Buffer
			w, err := packet.SerializeLiteral(nopCloser{&literal}, true, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("a plaintext sneaking in"))
			w.Close()
			bin := dearmorMsg(t, good)
			tooBig := make([]byte, messaging.DefaultMaxMessageBytes+1)
			tooBig[0] = 0xC1 // a PKESK packet header, then nothing sensible
			tests := []struct {
				name, sender string
				body         []byte
				ct           string
				status       int
				code         string
			}{
				{"missing team recipient", "patient", encrypt(t, "x", ks.patient, ks.patient), "text/plain", 422, "missing_team_recipient"},
				{"missing patient recipient", "patient", encrypt(t, "x", ks.patient, ks.team), "text/plain", 422, "missing_patient_recipient"},
				{"extra unknown recipient", "patient", encrypt(t, "x", ks.patient, ks.patient, ks.team, ks.outsider), "text/plain", 422, "unknown_recipient"},
				{"another staff member's key", "staff:" + e.staffID, encrypt(t, "x", ks.staff, ks.patient, ks.team, ks.staff2), "text/plain", 422, "unknown_recipient"},
				{"literal data packet", "patient", literal.Bytes(), "application/octet-stream", 422, "plaintext_refused"},
				{"literal data armored", "patient", pgp.Armor(literal.Bytes()), "text/plain", 422, "plaintext_refused"},
				{"wrong patient key", "patient", encrypt(t, "x", ks.patient, ks.newPatient, ks.team), "text/plain", 422, "missing_patient_recipient"},
				{"truncated", "patient", bin[:len(bin)/2], "application/octet-stream", 422, "truncated_message"},
				{"truncated armored", "patient", pgp.Armor(bin[:len(bin)-10]), "text/plain", 422, "truncated_message"},
				{"garbage", "patient", []byte("hello, this is not OpenPGP at all"), "text/plain", 422, "not_openpgp"},
				{"one byte over 10 MiB", "patient", tooBig, "application/octet-stream", 413, "message_too_large"},
				{"11 MiB of garbage", "patient", bytes.Repeat([]byte("A"), 11<<20), "text/plain", 422, "not_openpgp"},
				{"15 MiB", "patient", bytes.Repeat([]byte("A"), 15<<20), "text/plain", 413, "body_too_large"},
				{"empty", "patient", []byte{}, "text/plain", 400, "empty_body"},
				{"unknown staff sender", "staff:stf_nobody", good, "text/plain", 400, "unknown_staff"},
				{"bad sender", "doctor", good, "text/plain", 400, "invalid_sender"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := e.post(e.thread, tt.sender, tt.body, tt.ct)
					if r.Status != tt.status || r.ErrorCode() != tt.code {
						t.Fatalf("status %d %q, want %d %q: %.300s", r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
					}
				})
			}
			// Nothing was stored; the good message then is, armored or binary,
			// and so is a staff message also encrypted to its sender.
			var list struct{ Messages []map[string]any }
			e.must(t, 200, "GET", "/v1/threads/"+e.thread+"/messages", nil).JSON(t, &list)
			if len(list.Messages) != 0 {
				t.Fatalf("refused messages were stored: %d", len(list.Messages))
			}
			e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=patient", good, "Content-Type", "text/plain")
			e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=patient", bin, "Content-Type", "application/octet-stream")
			e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=staff:"+e.staffID,
				encrypt(t, "x", ks.staff, ks.patient, ks.team, ks.staff), "Content-Type", "application/pgp-encrypted")
		})
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// TestE2EEKeyRefusals uploads keys the hub must refuse.
func TestE2EEKeyRefusals(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			e := e2eeStart(t, backend)
			ks := e.ks
			now := time.Now()
			cfg := pgp.Config(e2eeKeyTime)
			cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 2048
			rsa, err := openpgp.NewEntity("Old RSA", "", "old@example.nz", cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg = pgp.Config(now.Add(-48 * time.Hour))
			cfg.KeyLifetimeSecs = 3600
			expired, err := openpgp.NewEntity("Expired", "", "expired@example.nz", cfg)
			if err != nil {
				t.Fatal(err)
			}
			noSub, err := openpgp.NewEntity("No subkey", "", "nosub@example.nz", pgp.Config(e2eeKeyTime))
			if err != nil {
				t.Fatal(err)
			}
			noSub.Subkeys = nil
			tests := []struct {
				name, path string
				key        []byte
				code       string
			}{
				{"RSA-2048", "/v1/patients/p-1001/key", armorPublic(t, rsa), "weak_key"},
				{"expired", "/v1/staff/" + e.staffID + "/key", armorPublic(t, expired), "key_expired"},
				{"no encryption subkey", "/v1/team-key", armorPublic(t, noSub), "no_encryption_subkey"},
				{"private key as public", "/v1/patients/p-1001/key", ks.patient.priv, "private_key_refused"},
				{"unlocked private key", "/v1/patients/p-1001/key/locked", ks.patient.unlockedPK, "key_not_locked"},
				{"locked key of another key", "/v1/patients/p-1001/key/locked", ks.outsider.priv, "fingerprint_mismatch"},
				{"unlocked staff key", "/v1/staff/" + e.staffID + "/key/locked", ks.staff.unlockedPK, "key_not_locked"},
				{"garbage", "/v1/staff/" + e.staffID + "/key", []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n"), "malformed_key"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e.putKey(t, 422, tt.path, tt.key, tt.code)
				})
			}
			// The directory still holds the good keys only.
			var keys struct {
				Current  struct{ Fingerprint string }
				Previous []any
			}
			e.must(t, 200, "GET", "/v1/patients/p-1001/key", nil).JSON(t, &keys)
			if keys.Current.Fingerprint != ks.patient.fp || len(keys.Previous) != 0 {
				t.Fatalf("patient keys after refusals: %+v", keys)
			}
			e.putKey(t, 200, "/v1/patients/p-1001/key/locked", ks.patient.priv, "")

			// A grant must be encrypted to the staff member's key alone.
			grant := encrypt(t, string(ks.team.unlockedPK), ks.staff, ks.staff2)
			e.putKey(t, 422, "/v1/team-key/grants/"+e.staffID, grant, "missing_staff_recipient")
			e.putKey(t, 422, "/v1/team-key/grants/"+e.staffID, encrypt(t, "x", ks.staff, ks.staff, ks.team), "unknown_recipient")
			e.putKey(t, 200, "/v1/team-key/grants/"+e.staff2, grant, "")
		})
	}
}

// TestE2EEThreadPreconditions: a thread needs the patient's key and the
// team key, and another practice sees none of this practice's threads.
func TestE2EEThreadPreconditions(t *testing.T) {
	h := start(t, hubtest.SQLite)
	ks := testKeys(t)
	e := &e2ee{h: h, ks: ks}
	e.must(t, 201, "PUT", "/v1/patients/p-2002", aroha)
	r := h.Do("POST", "/v1/threads", "", map[string]string{"patient": "p-2002"})
	if r.Status != 422 || r.ErrorCode() != "no_patient_key" {
		t.Fatalf("thread without patient key: %d %s", r.Status, r.Body)
	}
	e.putKey(t, 200, "/v1/patients/p-2002/key", ks.patient.pub, "")
	r = h.Do("POST", "/v1/threads", "", map[string]string{"patient": "p-2002"})
	if r.Status != 422 || r.ErrorCode() != "no_team_key" {
		t.Fatalf("thread without team key: %d %s", r.Status, r.Body)
	}
	// One code, one status: no_team_key is 422 wherever the team key is
	// needed and missing (it was a 404 here and a 422 above).
	if r := h.Do("GET", "/v1/keys/p-2002", "", nil); r.Status != 422 || r.ErrorCode() != "no_team_key" {
		t.Fatalf("recipient keys without team key: %d %s", r.Status, r.Body)
	}
	e.putKey(t, 200, "/v1/team-key", ks.team.pub, "")
	var th struct{ ID string }
	e.must(t, 201, "POST", "/v1/threads", map[string]string{"patient": "p-2002"}).JSON(t, &th)
	e.must(t, 201, "POST", "/v1/threads/"+th.ID+"/messages?sender=patient",
		encrypt(t, "x", ks.patient, ks.patient, ks.team), "Content-Type", "text/plain")

	_, other := h.NewPractice("Another practice", hub.ModeLive)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/threads/" + th.ID},
		{"GET", "/v1/threads/" + th.ID + "/messages"},
		{"POST", "/v1/threads/" + th.ID + "/read?reader=staff"},
		{"PATCH", "/v1/threads/" + th.ID},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]string{"status": "closed"}
		}
		if r := h.Do(c.method, c.path, other, body); r.Status != 404 || r.ErrorCode() != "not_found" {
			t.Errorf("%s %s with another practice's key: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	r = h.Do("POST", "/v1/threads/"+th.ID+"/messages?sender=patient", other,
		encrypt(t, "x", ks.patient, ks.patient, ks.team), "Content-Type", "text/plain")
	if r.Status != 404 {
		t.Errorf("posting to another practice's thread: %d %s", r.Status, r.Body)
	}
	var list struct{ Threads []any }
	if r := h.Do("GET", "/v1/threads", other, nil); r.Status != 200 {
		t.Fatalf("list: %d", r.Status)
	} else if r.JSON(t, &list); len(list.Threads) != 0 {
		t.Errorf("another practice lists %d threads", len(list.Threads))
	}
}

type threadOut struct {
	ID            string
	Unread        int
	PatientUnread int    `json:"patient_unread"`
	LastSender    string `json:"last_sender"`
}

// TestE2EENoticeAndReadMarkers: staff messages send the patient one
// content-free notice per thread in the notice window, and the unread
// counts move with messages and read markers.
func TestE2EENoticeAndReadMarkers(t *testing.T) {
	e := e2eeStart(t, hubtest.SQLite)
	ks := e.ks
	staff := "staff:" + e.staffID
	thread := func() threadOut {
		var th threadOut
		e.must(t, 200, "GET", "/v1/threads/"+e.thread, nil).JSON(t, &th)
		return th
	}
	unreadListed := func() bool {
		var list struct{ Threads []threadOut }
		e.must(t, 200, "GET", "/v1/threads?unread=true", nil).JSON(t, &list)
		return len(list.Threads) == 1 && list.Threads[0].ID == e.thread
	}

	secrets := []string{"SECRET-patient-one", "SECRET-patient-two", "SECRET-staff-one", "SECRET-staff-two"}
	for _, s := range secrets[:2] {
		e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=patient",
			encrypt(t, s, ks.patient, ks.patient, ks.team), "Content-Type", "text/plain")
	}
	if th := thread(); th.Unread != 2 || th.PatientUnread != 0 || th.LastSender != "patient" || !unreadListed() {
		t.Fatalf("after two patient messages: %+v", th)
	}
	var marks struct {
		Unread        int
		PatientUnread int `json:"patient_unread"`
	}
	e.must(t, 200, "POST", "/v1/threads/"+e.thread+"/read?reader=staff", nil).JSON(t, &marks)
	if marks.Unread != 0 || thread().Unread != 0 || unreadListed() {
		t.Fatalf("after staff read: %+v", marks)
	}
	if r := e.h.Do("POST", "/v1/threads/"+e.thread+"/read?reader=someone", "", nil); r.Status != 400 || r.ErrorCode() != "invalid_reader" {
		t.Fatalf("bad reader: %d %s", r.Status, r.Body)
	}

	for _, s := range secrets[2:] {
		e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender="+staff,
			encrypt(t, s, ks.staff, ks.patient, ks.team), "Content-Type", "text/plain")
	}
	if th := thread(); th.PatientUnread != 2 || th.Unread != 0 || th.LastSender != "staff" {
		t.Fatalf("after two staff messages: %+v", th)
	}
	e.must(t, 200, "POST", "/v1/threads/"+e.thread+"/read?reader=patient", nil).JSON(t, &marks)
	if marks.PatientUnread != 0 {
		t.Fatalf("after patient read: %+v", marks)
	}

	// One notice for the two staff messages, none for the patient's.
	var ds struct{ Deliveries []deliveryOut }
	e.must(t, 200, "GET", "/v1/deliveries?patient=p-1001", nil).JSON(t, &ds)
	var notices []deliveryOut
	for _, d := range ds.Deliveries {
		if d.Kind == hub.KindSecureMessageNotice {
			notices = append(notices, d)
		}
	}
	if len(notices) != 1 || len(ds.Deliveries) != 1 || notices[0].Channel != "portal" {
		t.Fatalf("deliveries: %+v", ds.Deliveries)
	}
	waitState(t, e.h, "", notices[0].ID, "sent")
	var inbox struct {
		Items []struct {
			Kind, Text, Thread string
		}
	}
	e.must(t, 200, "GET", "/v1/patients/p-1001/inbox", nil).JSON(t, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].Thread != e.thread || inbox.Items[0].Text == "" {
		t.Fatalf("inbox: %+v", inbox.Items)
	}
	for _, s := range secrets {
		if strings.Contains(inbox.Items[0].Text, s) || strings.Contains(inbox.Items[0].Text, "SECRET") {
			t.Fatalf("the inbox notice holds message content: %q", inbox.Items[0].Text)
		}
	}
	// The outbox (what other channels would have sent) holds none either.
	r := e.must(t, 200, "GET", "/v1/outbox", nil)
	if bytes.Contains(r.Body, []byte("SECRET")) {
		t.Fatalf("the outbox holds message content: %s", r.Body)
	}
}

// TestE2EEKeyRotation: after a patient's new key, old messages stay listed
// and readable with the old key, and new messages must use the new key.
func TestE2EEKeyRotation(t *testing.T) {
	for _, backend := range hubtest.Backends {
		t.Run(backend, func(t *testing.T) {
			e := e2eeStart(t, backend)
			ks := e.ks
			e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=patient",
				encrypt(t, "before the new phone", ks.patient, ks.patient, ks.team), "Content-Type", "text/plain")
			e.putKey(t, 200, "/v1/patients/p-1001/key", ks.newPatient.pub, "")

			var keys struct {
				Current  struct{ Fingerprint string }
				Previous []struct {
					Fingerprint  string
					SupersededAt *time.Time `json:"superseded_at"`
				}
			}
			e.must(t, 200, "GET", "/v1/patients/p-1001/key", nil).JSON(t, &keys)
			if keys.Current.Fingerprint != ks.newPatient.fp || len(keys.Previous) != 1 ||
				keys.Previous[0].Fingerprint != ks.patient.fp || keys.Previous[0].SupersededAt == nil {
				t.Fatalf("keys after rotation: %+v", keys)
			}
			var rk struct{ Patient, Team struct{ Fingerprint string } }
			e.must(t, 200, "GET", "/v1/keys/p-1001", nil).JSON(t, &rk)
			if rk.Patient.Fingerprint != ks.newPatient.fp || rk.Team.Fingerprint != ks.team.fp {
				t.Fatalf("recipient keys: %+v", rk)
			}

			r := e.post(e.thread, "patient", encrypt(t, "x", ks.patient, ks.patient, ks.team), "text/plain")
			if r.Status != 422 || r.ErrorCode() != "missing_patient_recipient" {
				t.Fatalf("message to the old key only: %d %s", r.Status, r.Body)
			}
			// A client that fetched the keys just before the rotation may
			// still add the superseded key: accepted for a short while.
			r = e.post(e.thread, "patient", encrypt(t, "x", ks.newPatient, ks.newPatient, ks.team, ks.patient), "text/plain")
			if r.Status != 201 {
				t.Fatalf("message to old and new key just after rotation: %d %s", r.Status, r.Body)
			}
			e.must(t, 201, "POST", "/v1/threads/"+e.thread+"/messages?sender=patient",
				encrypt(t, "from the new phone", ks.newPatient, ks.newPatient, ks.team), "Content-Type", "text/plain")

			var list struct {
				Messages []struct{ Ciphertext string }
			}
			e.must(t, 200, "GET", "/v1/threads/"+e.thread+"/messages", nil).JSON(t, &list)
			if len(list.Messages) != 3 {
				t.Fatalf("%d messages", len(list.Messages))
			}
			verify := pgp.Keyring(ks.patient.key, ks.newPatient.key)
			pt, err := pgp.Decrypt([]byte(list.Messages[0].Ciphertext), openpgp.EntityList{ks.patient.entity}, verify)
			if err != nil || string(pt.Data) != "before the new phone" || pt.Signature != pgp.SignatureGood {
				t.Fatalf("old message with the old key: %v %+v", err, pt)
			}
			if _, err := pgp.Decrypt([]byte(list.Messages[2].Ciphertext), openpgp.EntityList{ks.patient.entity}, verify); err == nil {
				t.Fatal("the old key read a message to the new key")
			}
			pt, err = pgp.Decrypt([]byte(list.Messages[2].Ciphertext), openpgp.EntityList{ks.newPatient.entity}, verify)
			if err != nil || string(pt.Data) != "from the new phone" || pt.SignerFingerprint != ks.newPatient.fp {
				t.Fatalf("new message with the new key: %v %+v", err, pt)
			}
			// The team key reads both.
			for i, m := range list.Messages {
				if _, err := pgp.Decrypt([]byte(m.Ciphertext), openpgp.EntityList{ks.team.entity}, nil); err != nil {
					t.Fatalf("team key, message %d: %v", i, err)
				}
			}
		})
	}
}

// BenchmarkPostMessage measures the hub's accept path for a secure
// message over HTTP: inspect, recipient check and store (SQLite, as
// `hubd dev` runs).
func BenchmarkPostMessage(b *testing.B) {
	for _, backend := range hubtest.Backends {
		b.Run(backend, func(b *testing.B) {
			e := e2eeStart(b, backend)
			msg := encrypt(b, strings.Repeat("Kia ora, a typical message. ", 40), e.ks.patient, e.ks.patient, e.ks.team)
			url := e.h.URL + "/v1/threads/" + e.thread + "/messages?sender=patient"
			hc := &http.Client{Timeout: 10 * time.Second}
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(msg))
				req.Header.Set("Authorization", "Bearer "+e.h.Key)
				req.Header.Set("Content-Type", "text/plain")
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
