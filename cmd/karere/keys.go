package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
)

// keygen makes a key pair and writes the locked private key to --out.
func (c *cli) keygen(args []string) error {
	fs := c.flags("keygen")
	name := fs.String("name", "", "your name, as in the key's user id")
	email := fs.String("email", "", "your email address")
	out := fs.String("out", "", "file to write the locked private key to (must not exist)")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if err := required(fs, "name", "out"); err != nil {
		return err
	}
	pass, err := c.passphrase()
	if err != nil {
		return err
	}
	if err := checkPassphrase(pass, *name, *email); err != nil {
		return err
	}
	// A minute back: a hub whose clock is a little behind must not see
	// a key created in the future.
	priv, _, err := pgp.GenerateKey(*name, *email, pass, time.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	if err := writeNew(*out, priv); err != nil {
		return err
	}
	e, err := pgp.ReadPrivateKey(priv, pass)
	if err != nil {
		return err
	}
	c.printf("fingerprint %s\nwrote the passphrase-locked private key to %s\n", client.Fingerprint(e), *out)
	return nil
}

// writeNew writes a file that must not exist yet, readable by the owner
// only.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: not overwriting a key", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyPublish uploads the public key and the locked private key.
func (c *cli) keyPublish(args []string) error {
	fs := c.flags("key publish")
	patient := fs.String("patient", "", "publish as this patient (external id)")
	staff := fs.String("staff", "", "publish as this staff member (staff id)")
	if _, err := positional(fs, args, 0, ""); err != nil {
		return err
	}
	if (*patient == "") == (*staff == "") {
		return usagef("key publish: give one of --patient ID or --staff ID")
	}
	priv, err := c.privateKey()
	if err != nil {
		return err
	}
	// Unlocking proves the passphrase is known before a key only it opens
	// is stored for other devices.
	e, err := c.unlock()
	if err != nil {
		return err
	}
	pub, err := client.PublicKeyOf(priv)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	var ki *client.KeyInfo
	if *patient != "" {
		if ki, err = cl.PutPatientKey(c.ctx, *patient, pub); err == nil {
			_, err = cl.PutPatientLockedKey(c.ctx, *patient, priv)
		}
	} else {
		if ki, err = cl.PutStaffKey(c.ctx, *staff, pub); err == nil {
			_, err = cl.PutStaffLockedKey(c.ctx, *staff, priv)
		}
	}
	if err != nil {
		return err
	}
	if ki.Fingerprint != client.Fingerprint(e) {
		return fmt.Errorf("the hub registered %s, not this key %s", ki.Fingerprint, client.Fingerprint(e))
	}
	c.printf("published %s (%s) and its locked private key\n", ki.Fingerprint, ki.Algorithm)
	return nil
}
