package hubtest

import (
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
