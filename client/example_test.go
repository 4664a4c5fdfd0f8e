package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

// A portal backend sends a patient's message from their device and reads
// the thread back, verifying who signed each message.
func Example() {
	ctx := context.Background()
	c, err := client.New("https://karere.example.nz", os.Getenv("KARERE_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	locked, _ := os.ReadFile("aroha.key")
	me, err := pgp.ReadPrivateKey(locked, []byte(os.Getenv("KARERE_PASSPHRASE")))
	if err != nil {
		log.Fatal(err)
	}
	// Pin the team key the practice gave the patient at sign-up.
	if _, err := c.SendSecure(ctx, "thr_...", client.AsPatient, []byte("Kia ora, is my prescription ready?"), me,
		client.PinTeam("0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567")); err != nil {
		log.Fatal(err)
	}
	msgs, err := c.ReadThread(ctx, "thr_...", openpgp.EntityList{me}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		switch {
		case m.Err != nil:
			fmt.Println(m.ID, "cannot decrypt:", m.Err)
		case m.SenderVerified():
			fmt.Printf("%s (signed by %s): %s\n", m.Sender, m.SignerFingerprint, m.Plaintext)
		default:
			fmt.Printf("%s (signature %s): %s\n", m.Sender, m.Signature, m.Plaintext)
		}
	}
}
