package client_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/internal/hubtest"
)

// TestSendLargeMessage: a 9 MiB message (an attachment inside the
// encryption) goes through SendSecure, whose calls carry an
// Idempotency-Key, and reads back.
func TestSendLargeMessage(t *testing.T) {
	ctx := context.Background()
	h, c := startHub(t, hubtest.SQLite)
	staffID := addStaff(t, h, "mere@kowhai.example.nz", "Dr Mere Tane")
	patient := newPerson(t, "Aroha Ngata", "aroha@example.nz")
	mere := newPerson(t, "Dr Mere Tane", "mere@kowhai.example.nz")
	if _, _, err := c.PutPatient(ctx, "p-1", client.PatientInput{GivenName: "Aroha", Channels: []string{"portal"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutPatientKey(ctx, "p-1", patient.pub); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutStaffKey(ctx, staffID, mere.pub); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TeamInit(ctx, staffID, mere.entity); err != nil {
		t.Fatal(err)
	}
	th, err := c.CreateThread(ctx, "p-1", "")
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 9<<20/16)
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient, big, patient.entity); err != nil {
		t.Fatal(err)
	}
	ds, err := c.ReadThread(ctx, th.ID, openpgp.EntityList{patient.entity}, nil)
	if err != nil || len(ds) != 1 || !bytes.Equal(ds[0].Plaintext, big) || !ds[0].SenderVerified() {
		t.Fatalf("read back: %v", err)
	}
}
