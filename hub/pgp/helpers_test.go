package pgp_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/hub/pgp"
)

// party is one key holder of the tests: a patient, the practice team key, a
// staff member, or an outsider.
type party struct {
	name        string
	email       string
	passphrase  []byte
	privArmored []byte
	pubArmored  []byte
	pub         *pgp.PublicKey
	priv        *openpgp.Entity // unlocked
}

type parties struct {
	patient, team, staff, outsider *party
}

var (
	fixtureOnce sync.Once
	fixture     parties
	fixtureErr  error
)

// keyTime is when the fixture keys were made: an hour ago, so that no tool
// sees a key "created in the future".
var keyTime = time.Now().Add(-time.Hour).Truncate(time.Second)

// testParties returns four generated keys, made once per test binary.
func testParties(tb testing.TB) parties {
	tb.Helper()
	fixtureOnce.Do(func() {
		mk := func(name, email, pass string) *party {
			if fixtureErr != nil {
				return nil
			}
			p, err := newParty(name, email, pass)
			if err != nil {
				fixtureErr = err
			}
			return p
		}
		fixture = parties{
			patient:  mk("Aroha Ngata", "aroha@example.nz", "patient passphrase"),
			team:     mk("Kowhai Medical Centre team", "team@kowhai.example.nz", "team passphrase"),
			staff:    mk("Dr Mere Tane", "mere@kowhai.example.nz", "staff passphrase"),
			outsider: mk("Someone Else", "else@example.com", "outsider passphrase"),
		}
	})
	if fixtureErr != nil {
		tb.Fatalf("making test keys: %v", fixtureErr)
	}
	return fixture
}

func newParty(name, email, pass string) (*party, error) {
	priv, pub, err := pgp.GenerateKey(name, email, []byte(pass), keyTime)
	if err != nil {
		return nil, err
	}
	pk, err := pgp.ParsePublicKey(pub, time.Now())
	if err != nil {
		return nil, err
	}
	e, err := pgp.ReadPrivateKey(priv, []byte(pass))
	if err != nil {
		return nil, err
	}
	return &party{name: name, email: email, passphrase: []byte(pass), privArmored: priv, pubArmored: pub, pub: pk, priv: e}, nil
}

// wantErr fails unless errors.Is(err, want) and Code(err) == code.
func wantErr(t *testing.T, err, want error, code string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if got := pgp.Code(err); got != code {
		t.Fatalf("Code(%v) = %q, want %q", err, got, code)
	}
}

// inspect runs Inspect on a byte slice with a 1 MiB limit.
func inspect(data []byte) (*pgp.Envelope, error) {
	return pgp.Inspect(bytes.NewReader(data), 1<<20)
}

// required is the usual rule: the patient and the team.
func required(ps parties) []pgp.Recipient {
	return []pgp.Recipient{
		{Role: pgp.RolePatient, Key: ps.patient.pub},
		{Role: pgp.RoleTeam, Key: ps.team.pub},
	}
}

// dearmor returns the binary form of an armored message.
func dearmor(t testing.TB, armored []byte) []byte {
	t.Helper()
	env, err := pgp.Inspect(bytes.NewReader(armored), 1<<30)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return env.Binary
}
