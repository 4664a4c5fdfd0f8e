package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

// seedSecureDemo gives the demo practice working end-to-end encryption,
// the way real clients would set it up over the API: a key for Sione
// (passphrase-locked copy kept for the web inbox), the practice team key
// with Sione's grant, a key for the patient, and a thread whose first
// message the "patient's device" encrypted and signed. It returns Sione's
// key passphrase, which unlocks the key in the inbox.
func seedSecureDemo(ctx context.Context, url, apiKey, staffID, staffEmail, patient string) (string, error) {
	c, err := client.New(url, apiKey)
	if err != nil {
		return "", err
	}
	now := time.Now()
	secret := func() []byte {
		b := make([]byte, 9)
		_, _ = rand.Read(b)
		return []byte(base64.RawURLEncoding.EncodeToString(b))
	}
	staffPass, patientPass := secret(), secret()

	priv, pub, err := pgp.GenerateKey("Sione Taufa", staffEmail, staffPass, now)
	if err != nil {
		return "", err
	}
	if _, err := c.PutStaffKey(ctx, staffID, pub); err != nil {
		return "", fmt.Errorf("demo staff key: %w", err)
	}
	if _, err := c.PutStaffLockedKey(ctx, staffID, priv); err != nil {
		return "", fmt.Errorf("demo staff locked key: %w", err)
	}
	sione, err := pgp.ReadPrivateKey(priv, staffPass)
	if err != nil {
		return "", err
	}
	if _, err := c.TeamInit(ctx, staffID, sione); err != nil {
		return "", fmt.Errorf("demo team key: %w", err)
	}

	ppriv, ppub, err := pgp.GenerateKey("Aroha Ngata", "aroha@example.nz", patientPass, now)
	if err != nil {
		return "", err
	}
	if _, err := c.PutPatientKey(ctx, patient, ppub); err != nil {
		return "", fmt.Errorf("demo patient key: %w", err)
	}
	if _, err := c.PutPatientLockedKey(ctx, patient, ppriv); err != nil {
		return "", fmt.Errorf("demo patient locked key: %w", err)
	}
	aroha, err := pgp.ReadPrivateKey(ppriv, patientPass)
	if err != nil {
		return "", err
	}
	th, err := c.CreateThread(ctx, patient, "general")
	if err != nil {
		return "", fmt.Errorf("demo thread: %w", err)
	}
	if _, err := c.SendSecure(ctx, th.ID, client.AsPatient,
		[]byte("Kia ora, I have had a rash on my arm since Tuesday. Should I come in, or can I send a photo?"), aroha); err != nil {
		return "", fmt.Errorf("demo message: %w", err)
	}
	return string(staffPass), nil
}
