package hubtest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/hub/pgp"
)

// Keys are a patient's and the practice team's OpenPGP keys, registered
// with the hub, and their unlocked private halves for the test to read
// with.
type Keys struct {
	Patient, Team *openpgp.Entity
}

// RegisterKeys makes and registers a key for patient (external id) and a
// team key for the practice.
func (h *Hub) RegisterKeys(patient string) Keys {
	h.t.Helper()
	pass := []byte("correct horse battery staple")
	mk := func(name string) (*openpgp.Entity, []byte) {
		priv, pub, err := pgp.GenerateKey(name, "", pass, time.Now())
		if err != nil {
			h.t.Fatalf("hubtest: generate key: %v", err)
		}
		e, err := pgp.ReadPrivateKey(priv, pass)
		if err != nil {
			h.t.Fatalf("hubtest: unlock key: %v", err)
		}
		return e, pub
	}
	var k Keys
	var pub []byte
	k.Patient, pub = mk("Patient " + patient)
	h.MustDo(200, "PUT", "/v1/patients/"+patient+"/key", string(pub), "Content-Type", "application/pgp-keys")
	k.Team, pub = mk("Team")
	h.MustDo(200, "PUT", "/v1/team-key", string(pub), "Content-Type", "application/pgp-keys")
	return k
}

// TwilioSignature signs a webhook the way Twilio does: HMAC-SHA1 with the
// auth token over the full URL followed by each POST parameter's name and
// value, sorted by name; base64.
func TwilioSignature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		for _, v := range params[k] {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
