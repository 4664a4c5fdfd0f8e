package pgp_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/karerehub/karere/hub/pgp"
)

// The server's checks on a submitted message: Inspect without decrypting,
// then require the patient and team keys, allowing the sender's own key.
func ExampleCheckRecipients() {
	now := time.Now().Add(-time.Minute)
	_, patientArmored, _ := pgp.GenerateKey("Aroha Ngata", "aroha@example.nz", []byte("patient pass"), now)
	_, teamArmored, _ := pgp.GenerateKey("Kowhai team", "team@kowhai.example.nz", []byte("team pass"), now)
	patient, _ := pgp.ParsePublicKey(patientArmored, time.Now())
	team, _ := pgp.ParsePublicKey(teamArmored, time.Now())

	// A reply that came by SMS, sealed on arrival.
	msg, _ := pgp.Seal([]byte("Y"), patient)

	env, err := pgp.Inspect(bytes.NewReader(msg), 1<<20)
	if err != nil {
		fmt.Println(pgp.Code(err))
		return
	}
	err = pgp.CheckRecipients(env, []pgp.Recipient{
		{Role: pgp.RolePatient, Key: patient},
		{Role: pgp.RoleTeam, Key: team},
	})
	fmt.Println(pgp.Code(err))

	_, err = pgp.Inspect(bytes.NewReader([]byte("Y")), 1<<20)
	fmt.Println(pgp.Code(err))
	// Output:
	// missing_team_recipient
	// not_openpgp
}
