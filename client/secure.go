package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/karerehub/karere/hub/pgp"
)

// Errors of the end-to-end operations.
var (
	// ErrPinMismatch: a key the directory gave is not the one the caller
	// pinned. Nothing was sent.
	ErrPinMismatch = errors.New("client: directory key does not match the pinned fingerprint")
	// ErrSignerNotSender: the signing key is not the sender's current key in
	// the directory, so readers would not see a verified sender. Nothing was
	// sent.
	ErrSignerNotSender = errors.New("client: the signing key is not the sender's registered key")
)

// Fingerprint is an entity's primary key fingerprint, upper-case hex, the
// form the API uses.
func Fingerprint(e *openpgp.Entity) string {
	if e == nil || e.PrimaryKey == nil {
		return ""
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// normFingerprint accepts fingerprints with spaces and in lower case.
func normFingerprint(fp string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(fp), " ", ""))
}

// SendOption adjusts SendSecure.
type SendOption func(*sendConfig)

type sendConfig struct{ patient, team string }

// PinPatient refuses to send unless the directory's key for the patient
// has this fingerprint (one the patient's own device reported, say).
func PinPatient(fingerprint string) SendOption {
	return func(c *sendConfig) { c.patient = normFingerprint(fingerprint) }
}

// PinTeam refuses to send unless the directory's team key has this
// fingerprint.
func PinTeam(fingerprint string) SendOption {
	return func(c *sendConfig) { c.team = normFingerprint(fingerprint) }
}

// Sent is the answer to SendSecure.
type Sent struct {
	Posted
	PatientFingerprint string // the keys the message was encrypted to
	TeamFingerprint    string
}

// SendSecure encrypts plaintext to the thread's patient and the practice
// team key, signed inside the encryption by signer (an unlocked private
// key, see pgp.ReadPrivateKey), and posts it as from. The recipient keys
// come from the directory and are checked against pins given as opts; the
// signer must be the sender's current key in the directory.
func (c *Client) SendSecure(ctx context.Context, threadID string, from Sender, plaintext []byte, signer *openpgp.Entity, opts ...SendOption) (*Sent, error) {
	var cfg sendConfig
	for _, o := range opts {
		o(&cfg)
	}
	if _, ok := ParseSender(string(from)); !ok {
		return nil, fmt.Errorf("client: sender %q: want \"patient\" or \"staff:<id>\"", from)
	}
	t, err := c.GetThread(ctx, threadID)
	if err != nil {
		return nil, err
	}
	rk, err := c.RecipientKeys(ctx, t.Patient)
	if err != nil {
		return nil, err
	}
	patient, err := rk.Patient.Parse()
	if err != nil {
		return nil, fmt.Errorf("client: the patient's key: %w", err)
	}
	team, err := rk.Team.Parse()
	if err != nil {
		return nil, fmt.Errorf("client: the team key: %w", err)
	}
	if cfg.patient != "" && cfg.patient != patient.Fingerprint {
		return nil, fmt.Errorf("%w: patient key is %s, pinned %s", ErrPinMismatch, patient.Fingerprint, cfg.patient)
	}
	if cfg.team != "" && cfg.team != team.Fingerprint {
		return nil, fmt.Errorf("%w: team key is %s, pinned %s", ErrPinMismatch, team.Fingerprint, cfg.team)
	}
	want := patient.Fingerprint
	if id := from.StaffID(); id != "" {
		ks, err := c.StaffKeys(ctx, id)
		if err != nil {
			return nil, err
		}
		want = ""
		if ks.Current != nil {
			want = ks.Current.Fingerprint
		}
	}
	if got := Fingerprint(signer); got != want {
		return nil, fmt.Errorf("%w: signing with %s, %s's key is %s", ErrSignerNotSender, got, from, want)
	}
	armored, err := pgp.Encrypt(plaintext, []*pgp.PublicKey{patient, team}, signer)
	if err != nil {
		return nil, err
	}
	// Binary is a quarter smaller than armor, and the hub's size limit
	// counts the bytes on the wire.
	bin, err := dearmor(armored)
	if err != nil {
		return nil, err
	}
	p, err := c.PostMessage(ctx, threadID, from, bin)
	if err != nil {
		return nil, err
	}
	return &Sent{Posted: *p, PatientFingerprint: patient.Fingerprint, TeamFingerprint: team.Fingerprint}, nil
}

// Signers are the public keys that may sign a thread's messages, each with
// its owner as the API names senders: "patient" or "staff:<id>".
type Signers struct {
	keys  openpgp.EntityList
	owner map[string]string
}

// NewSigners returns an empty set; fill it with Add.
func NewSigners() *Signers { return &Signers{owner: map[string]string{}} }

// Add adds a key of owner ("patient" or "staff:<id>").
func (s *Signers) Add(owner string, k *pgp.PublicKey) {
	if k == nil || k.Entity == nil {
		return
	}
	if _, dup := s.owner[k.Fingerprint]; dup {
		return
	}
	s.keys = append(s.keys, k.Entity)
	s.owner[k.Fingerprint] = owner
}

// Owner returns who owns the key with this fingerprint, or "".
func (s *Signers) Owner(fingerprint string) string { return s.owner[fingerprint] }

// Keyring returns the keys, for pgp.Decrypt.
func (s *Signers) Keyring() openpgp.EntityList { return s.keys }

// addDirectory adds every key of a directory listing. Each key is checked
// as of when it was registered: a superseded key may have expired since,
// and still vouches for what it signed while it was current.
func (s *Signers) addDirectory(owner string, l *KeyList) error {
	for _, k := range l.All() {
		pub, err := pgp.ParsePublicKey([]byte(k.Armored), k.CreatedAt)
		if err != nil {
			return fmt.Errorf("client: %s key %s: %w", owner, k.Fingerprint, err)
		}
		if pub.Fingerprint != k.Fingerprint {
			return fmt.Errorf("client: directory key %s is really %s", k.Fingerprint, pub.Fingerprint)
		}
		s.Add(owner, pub)
	}
	return nil
}

// ThreadSigners collects from the directory every key, current and
// superseded, of the patient and of each staff member: the keys that may
// sign the patient's threads. A caller that pins keys builds its own
// Signers instead.
func (c *Client) ThreadSigners(ctx context.Context, patientExternalID string) (*Signers, error) {
	s := NewSigners()
	pk, err := c.PatientKeys(ctx, patientExternalID)
	if err != nil && !IsCode(err, "no_key") {
		return nil, err
	}
	if pk != nil {
		if err := s.addDirectory(string(AsPatient), pk); err != nil {
			return nil, err
		}
	}
	if err := c.addStaffSigners(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Client) addStaffSigners(ctx context.Context, s *Signers) error {
	staff, err := c.ListStaff(ctx)
	if err != nil {
		return err
	}
	for _, st := range staff {
		if st.Fingerprint == "" {
			continue // no key yet (nor earlier: keys are never deleted)
		}
		ks, err := c.StaffKeys(ctx, st.ID)
		if err != nil {
			return err
		}
		if err := s.addDirectory(string(AsStaff(st.ID)), ks); err != nil {
			return err
		}
	}
	return nil
}

// Decrypted is a message read by ReadThread.
type Decrypted struct {
	Message   // metadata; Sender is who the server says sent it
	Plaintext []byte
	// Err is why the message could not be read (such as
	// pgp.ErrNoDecryptionKey for a message to a team key the reader was
	// never granted); the fields below are then empty.
	Err error
	// Signature is the signature's status; pgp.Unsigned for a reply that
	// arrived unencrypted and was sealed by the server.
	Signature pgp.SignatureStatus
	// SignatureError says why a signature is pgp.SignatureBad.
	SignatureError    error
	SignerKeyID       uint64
	SignerFingerprint string // when the signer is among the Signers
	// SignedBy is the owner of the signing key ("patient", "staff:<id>"),
	// when the signer is among the Signers.
	SignedBy string
}

// SenderVerified reports whether a good signature by the key of the
// sender the server names vouches for the message.
func (d *Decrypted) SenderVerified() bool {
	return d.Err == nil && d.Signature == pgp.SignatureGood && d.SignedBy == d.Sender
}

// ReadThread fetches a thread's messages and decrypts each with keys
// (unlocked private keys: the patient's own, or the team keys of
// TeamKey.Keyring), verifying signatures against verifyWith (nil: the
// directory's keys, see ThreadSigners). A message that cannot be decrypted
// is returned with Err set; the error return is for failed API calls.
func (c *Client) ReadThread(ctx context.Context, threadID string, keys openpgp.EntityList, verifyWith *Signers) ([]Decrypted, error) {
	if verifyWith == nil {
		t, err := c.GetThread(ctx, threadID)
		if err != nil {
			return nil, err
		}
		if verifyWith, err = c.ThreadSigners(ctx, t.Patient); err != nil {
			return nil, err
		}
	}
	ms, err := c.AllMessages(ctx, threadID)
	if err != nil {
		return nil, err
	}
	out := make([]Decrypted, 0, len(ms))
	for _, m := range ms {
		d := Decrypted{Message: m}
		pt, err := pgp.Decrypt([]byte(m.Ciphertext), keys, verifyWith.Keyring())
		if err != nil {
			d.Err = err
		} else {
			d.Plaintext, d.Signature, d.SignerKeyID = pt.Data, pt.Signature, pt.SignerKeyID
			d.SignatureError = pt.SignatureError
			d.SignerFingerprint = pt.SignerFingerprint
			d.SignedBy = verifyWith.Owner(pt.SignerFingerprint)
		}
		out = append(out, d)
	}
	return out, nil
}

// dearmor returns the binary form of an armored OpenPGP block.
func dearmor(armored []byte) ([]byte, error) {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("client: dearmoring: %w", err)
	}
	return io.ReadAll(block.Body)
}
