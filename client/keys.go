package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/karerehub/karere/hub/pgp"
)

// Key is a public key of the directory.
type Key struct {
	Fingerprint  string     `json:"fingerprint"`
	Algorithm    string     `json:"algorithm"`
	CreatedAt    time.Time  `json:"created_at"`
	SupersededAt *time.Time `json:"superseded_at"`
	Armored      string     `json:"armored"`
}

// Parse checks the key with hub/pgp (now: the wall clock) and returns it
// parsed. It fails for a key that may no longer be encrypted to (expired,
// revoked); use pgp.ParsePublicKey with an earlier time to read such a key
// for verifying old signatures.
func (k *Key) Parse() (*pgp.PublicKey, error) {
	pub, err := pgp.ParsePublicKey([]byte(k.Armored), time.Now())
	if err != nil {
		return nil, err
	}
	if pub.Fingerprint != k.Fingerprint {
		return nil, fmt.Errorf("client: directory key %s is really %s", k.Fingerprint, pub.Fingerprint)
	}
	return pub, nil
}

// KeyList is an owner's keys: the current one and the superseded ones,
// newest first.
type KeyList struct {
	Current  *Key  `json:"current"`
	Previous []Key `json:"previous"`
}

// All returns the current key (if any) followed by the previous ones.
func (l *KeyList) All() []Key {
	var ks []Key
	if l.Current != nil {
		ks = append(ks, *l.Current)
	}
	return append(ks, l.Previous...)
}

// KeyInfo is the answer to a key upload.
type KeyInfo struct {
	Fingerprint  string     `json:"fingerprint"`
	Algorithm    string     `json:"algorithm"`
	UserID       string     `json:"user_id"`
	KeyCreatedAt time.Time  `json:"key_created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

// LockedKey is a passphrase-locked private key kept for other devices.
type LockedKey struct {
	Fingerprint string    `json:"fingerprint"`
	UpdatedAt   time.Time `json:"updated_at"`
	Armored     string    `json:"armored"`
}

func patientKeyPath(externalID string) string { return "/v1/patients/" + seg(externalID) + "/key" }
func staffKeyPath(staffID string) string      { return "/v1/staff/" + seg(staffID) + "/key" }

const teamKeyPath = "/v1/team-key"

func putArmored[T any](ctx context.Context, c *Client, path string, armored []byte, q url.Values) (*T, error) {
	return call[T](ctx, c, request{method: http.MethodPut, path: path, query: q, body: armored, contentType: "text/plain"})
}

// PutPatientKey registers a patient's armored public key. The previous
// key is kept, superseded, so old messages stay readable.
func (c *Client) PutPatientKey(ctx context.Context, externalID string, publicArmored []byte) (*KeyInfo, error) {
	return putArmored[KeyInfo](ctx, c, patientKeyPath(externalID), publicArmored, nil)
}

// PutStaffKey registers a staff member's armored public key.
func (c *Client) PutStaffKey(ctx context.Context, staffID string, publicArmored []byte) (*KeyInfo, error) {
	return putArmored[KeyInfo](ctx, c, staffKeyPath(staffID), publicArmored, nil)
}

// PutTeamKey registers the practice team key's public part. Use TeamInit
// or TeamRotate, which also make the grants.
func (c *Client) PutTeamKey(ctx context.Context, publicArmored []byte) (*KeyInfo, error) {
	return putArmored[KeyInfo](ctx, c, teamKeyPath, publicArmored, nil)
}

func (c *Client) getKeys(ctx context.Context, path string) (*KeyList, error) {
	out := &KeyList{}
	if err := c.do(ctx, request{method: http.MethodGet, path: path}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// PatientKeys lists a patient's keys.
func (c *Client) PatientKeys(ctx context.Context, externalID string) (*KeyList, error) {
	return c.getKeys(ctx, patientKeyPath(externalID))
}

// StaffKeys lists a staff member's keys.
func (c *Client) StaffKeys(ctx context.Context, staffID string) (*KeyList, error) {
	return c.getKeys(ctx, staffKeyPath(staffID))
}

// TeamKeys lists the practice team keys.
func (c *Client) TeamKeys(ctx context.Context) (*KeyList, error) {
	return c.getKeys(ctx, teamKeyPath)
}

// PutPatientLockedKey stores the patient's passphrase-locked private key
// (the private half of their current public key) for their other devices.
func (c *Client) PutPatientLockedKey(ctx context.Context, externalID string, lockedArmored []byte) (*LockedKey, error) {
	return putArmored[LockedKey](ctx, c, patientKeyPath(externalID)+"/locked", lockedArmored, nil)
}

// PutStaffLockedKey stores a staff member's passphrase-locked private key.
func (c *Client) PutStaffLockedKey(ctx context.Context, staffID string, lockedArmored []byte) (*LockedKey, error) {
	return putArmored[LockedKey](ctx, c, staffKeyPath(staffID)+"/locked", lockedArmored, nil)
}

// PatientLockedKey fetches the patient's locked private key.
func (c *Client) PatientLockedKey(ctx context.Context, externalID string) (*LockedKey, error) {
	out := &LockedKey{}
	if err := c.do(ctx, request{method: http.MethodGet, path: patientKeyPath(externalID) + "/locked"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// StaffLockedKey fetches a staff member's locked private key.
func (c *Client) StaffLockedKey(ctx context.Context, staffID string) (*LockedKey, error) {
	out := &LockedKey{}
	if err := c.do(ctx, request{method: http.MethodGet, path: staffKeyPath(staffID) + "/locked"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Recipients are the keys a message to a patient's thread is encrypted to.
type Recipients struct {
	Patient Key `json:"patient"`
	Team    Key `json:"team"`
}

// RecipientKeys returns the patient's current key and the team key.
func (c *Client) RecipientKeys(ctx context.Context, patientExternalID string) (*Recipients, error) {
	out := &Recipients{}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/keys/" + seg(patientExternalID)}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Staff is a staff member and the fingerprint of their current key ("" if
// none).
type Staff struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Fingerprint string `json:"fingerprint"`
}

// ListStaff lists the practice's staff.
func (c *Client) ListStaff(ctx context.Context) ([]Staff, error) {
	var out struct {
		Staff []Staff `json:"staff"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/staff"}, &out)
	return out.Staff, err
}

// Grant is a staff member's grant of the current team key.
type Grant struct {
	Staff           string    `json:"staff"`
	TeamFingerprint string    `json:"team_fingerprint"`
	CreatedAt       time.Time `json:"created_at"`
	Armored         string    `json:"armored"` // the OpenPGP message
}

// GrantInfo is the answer to PutGrant.
type GrantInfo struct {
	Staff     string    `json:"staff"`
	TeamKey   string    `json:"team_key"`
	CreatedAt time.Time `json:"created_at"`
}

// PutGrant stores a grant (made by TeamInit, TeamGrant or TeamRotate): an
// OpenPGP message encrypted to staffID's current key alone. grantedBy is
// the granting staff member, for the audit trail.
func (c *Client) PutGrant(ctx context.Context, staffID, grantedBy string, armored []byte) (*GrantInfo, error) {
	q := url.Values{}
	set(q, "granted_by", grantedBy)
	return putArmored[GrantInfo](ctx, c, "/v1/team-key/grants/"+seg(staffID), armored, q)
}

// GetGrant fetches a staff member's grant of the current team key.
func (c *Client) GetGrant(ctx context.Context, staffID string) (*Grant, error) {
	out := &Grant{}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/team-key/grants/" + seg(staffID)}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGrants removes all of a staff member's grants and returns how many
// there were. Rotate the team key afterwards (TeamRotate).
func (c *Client) DeleteGrants(ctx context.Context, staffID string) (int, error) {
	var out struct {
		Deleted int `json:"deleted"`
	}
	err := c.do(ctx, request{method: http.MethodDelete, path: "/v1/team-key/grants/" + seg(staffID)}, &out)
	return out.Deleted, err
}

// PublicKeyOf returns the armored public key of a private key (armored or
// binary, locked or not). It needs no passphrase: the public parts and
// self-signatures of a locked key are in the clear.
func PublicKeyOf(private []byte) ([]byte, error) {
	var r io.Reader = bytes.NewReader(private)
	if len(private) > 0 && private[0]&0x80 == 0 {
		block, err := armor.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("client: reading private key: %w", err)
		}
		if block.Type != privateKeyBlock {
			return nil, fmt.Errorf("client: expected a %s, found a %s", privateKeyBlock, block.Type)
		}
		r = block.Body
	}
	el, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("client: reading private key: %w", err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, fmt.Errorf("client: expected one private key, found %d keys", len(el))
	}
	var out bytes.Buffer
	w, err := armor.Encode(&out, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		return nil, err
	}
	if err := el[0].Serialize(w); err != nil {
		return nil, fmt.Errorf("client: serializing public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
