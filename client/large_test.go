package client_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
)

// TestSendLargeMessage: a 9 MiB message (an attachment inside the
// encryption) goes through SendSecure, whose calls carry an
// Idempotency-Key, and reads back.
func TestSendLargeMessage(t *testing.T) {
	ctx := context.Background()
	c, _, patient, _, th := oneThread(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 9<<20/16)
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, big, patient.entity); err != nil {
		t.Fatal(err)
	}
	ds, err := c.ReadThread(ctx, th.ID, openpgp.EntityList{patient.entity}, nil)
	if err != nil || len(ds) != 1 || !bytes.Equal(ds[0].Plaintext, big) || !ds[0].SenderVerified() {
		t.Fatalf("read back: %v", err)
	}
}
