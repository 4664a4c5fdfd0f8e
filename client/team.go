package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/karerehub/karere/hub/pgp"
)

// MaxTeamKeyHistory is how many earlier team keys a grant carries after the
// current one, so that members can read older messages. A grant must fit
// the server's 64 KiB limit for keys; an unlocked Ed25519/Curve25519 key is
// about 0.5 KiB, so 32 earlier keys leave room to spare.
const MaxTeamKeyHistory = 32

// TeamKeyName is the user id of generated team keys.
const TeamKeyName = "Karere practice team key"

// Errors of the team key operations.
var (
	// ErrTeamKeyExists: TeamInit found a team key already; use TeamGrant
	// to join, or TeamRotate to replace it.
	ErrTeamKeyExists = errors.New("client: the practice already has a team key")
	// ErrBadGrant: a grant does not hold what a grant must (unlocked team
	// private keys, the current one matching the directory's team key), or
	// is not signed by a staff member's key.
	ErrBadGrant = errors.New("client: invalid team key grant")
)

const privateKeyBlock = "PGP PRIVATE KEY BLOCK"

// TeamKey is the practice team key, unlocked from a grant.
type TeamKey struct {
	Current     *openpgp.Entity
	Fingerprint string
	// History holds earlier team keys, newest first.
	History openpgp.EntityList
	// GrantSignature is the grant's signature status, and GrantSigner the
	// fingerprint of the key that signed it (when known).
	GrantSignature pgp.SignatureStatus
	GrantSigner    string
}

// Keyring returns the current and earlier team keys, for ReadThread.
func (t *TeamKey) Keyring() openpgp.EntityList {
	return append(openpgp.EntityList{t.Current}, t.History...)
}

// UnlockTeamKey opens a grant (the armored or binary OpenPGP message) with
// the staff member's unlocked private key. The grant's signature is
// checked against the staff member's own key only, so a grant made by a
// colleague reports pgp.SignatureUnknownSigner; Client.TeamKey checks
// against every staff key in the directory.
func UnlockTeamKey(grant []byte, staff *openpgp.Entity) (*TeamKey, error) {
	return unlockTeamKey(grant, staff, openpgp.EntityList{staff})
}

func unlockTeamKey(grant []byte, staff *openpgp.Entity, verifyWith openpgp.EntityList) (*TeamKey, error) {
	pt, err := pgp.Decrypt(grant, openpgp.EntityList{staff}, verifyWith)
	if err != nil {
		return nil, err
	}
	keys, err := parseTeamKeys(pt.Data)
	if err != nil {
		return nil, err
	}
	return &TeamKey{Current: keys[0], Fingerprint: Fingerprint(keys[0]), History: keys[1:],
		GrantSignature: pt.Signature, GrantSigner: pt.SignerFingerprint}, nil
}

// parseTeamKeys reads a grant's plaintext: armored private key blocks,
// each one unlocked key.
func parseTeamKeys(data []byte) (openpgp.EntityList, error) {
	var keys openpgp.EntityList
	end := []byte("-----END " + privateKeyBlock + "-----")
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		i := bytes.Index(rest, end)
		if i < 0 {
			return nil, fmt.Errorf("%w: unterminated key block", ErrBadGrant)
		}
		block := rest[:i+len(end)]
		rest = rest[i+len(end):]
		e, err := pgp.ReadPrivateKey(block, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadGrant, err)
		}
		if e.PrivateKey.Encrypted {
			return nil, fmt.Errorf("%w: a team key in the grant is locked", ErrBadGrant)
		}
		keys = append(keys, e)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no team key in the grant", ErrBadGrant)
	}
	return keys, nil
}

// grantPlaintext serializes unlocked team keys, current first.
func grantPlaintext(keys openpgp.EntityList) ([]byte, error) {
	var out bytes.Buffer
	for _, e := range keys {
		w, err := armor.Encode(&out, privateKeyBlock, nil)
		if err != nil {
			return nil, err
		}
		// The keys were unlocked: they serialize unlocked, with the
		// self-signatures made when they were generated.
		if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
			return nil, fmt.Errorf("client: serializing team key: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// newTeamKey generates a team key with pgp.GenerateKey. GenerateKey always
// locks what it makes: the one-time passphrase used here is unlocked with
// at once and then forgotten (see the package documentation).
func newTeamKey() (*openpgp.Entity, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, nil, err
	}
	once := []byte(base64.RawStdEncoding.EncodeToString(b))
	// An hour back, so that a server whose clock is a little behind does
	// not see a key "created in the future".
	priv, pub, err := pgp.GenerateKey(TeamKeyName, "", once, time.Now().Add(-time.Hour))
	if err != nil {
		return nil, nil, err
	}
	e, err := pgp.ReadPrivateKey(priv, once)
	if err != nil {
		return nil, nil, err
	}
	return e, pub, nil
}

// makeGrant encrypts the team keys to one staff member's key, signed by
// the granting member.
func makeGrant(keys openpgp.EntityList, to *pgp.PublicKey, granter *openpgp.Entity) ([]byte, error) {
	pt, err := grantPlaintext(keys)
	if err != nil {
		return nil, err
	}
	return pgp.Encrypt(pt, []*pgp.PublicKey{to}, granter)
}

// currentStaffKey returns a staff member's current key from the directory.
func (c *Client) currentStaffKey(ctx context.Context, staffID string) (*pgp.PublicKey, error) {
	ks, err := c.StaffKeys(ctx, staffID)
	if err != nil {
		return nil, err
	}
	if ks.Current == nil {
		return nil, fmt.Errorf("client: staff member %s has no current key", staffID)
	}
	return ks.Current.Parse()
}

// checkOwnKey makes sure me is staffID's current directory key, so the
// grant made for it is one me can open.
func (c *Client) checkOwnKey(ctx context.Context, staffID string, me *openpgp.Entity) (*pgp.PublicKey, error) {
	pub, err := c.currentStaffKey(ctx, staffID)
	if err != nil {
		return nil, err
	}
	if pub.Fingerprint != Fingerprint(me) {
		return nil, fmt.Errorf("%w: %s's key is %s, this key is %s", ErrSignerNotSender, staffID, pub.Fingerprint, Fingerprint(me))
	}
	return pub, nil
}

// TeamInit makes the practice's first team key on staff member staffID's
// device (me is their unlocked key, which must be their current directory
// key), registers its public part, and stores staffID's grant. It fails
// with ErrTeamKeyExists when the practice has a team key already.
func (c *Client) TeamInit(ctx context.Context, staffID string, me *openpgp.Entity) (*TeamKey, error) {
	if _, err := c.TeamKeys(ctx); err == nil {
		return nil, ErrTeamKeyExists
	} else if !IsCode(err, "no_key") {
		return nil, err
	}
	mine, err := c.checkOwnKey(ctx, staffID, me)
	if err != nil {
		return nil, err
	}
	return c.installTeamKey(ctx, staffID, me, nil, []*staffKey{{id: staffID, key: mine}})
}

type staffKey struct {
	id  string
	key *pgp.PublicKey
}

// installTeamKey generates a team key, registers it and grants it (with
// history) to each of to, the granter first, so that the new key's private
// part is never lost while grants are being made.
func (c *Client) installTeamKey(ctx context.Context, granterID string, me *openpgp.Entity, history openpgp.EntityList, to []*staffKey) (*TeamKey, error) {
	team, pub, err := newTeamKey()
	if err != nil {
		return nil, err
	}
	keys := append(openpgp.EntityList{team}, history...)
	if len(keys) > MaxTeamKeyHistory+1 {
		keys = keys[:MaxTeamKeyHistory+1]
	}
	// Make every grant before registering the key: a failure here changes
	// nothing on the server.
	grants := make([][]byte, len(to))
	for i, s := range to {
		if grants[i], err = makeGrant(keys, s.key, me); err != nil {
			return nil, err
		}
	}
	if _, err := c.PutTeamKey(ctx, pub); err != nil {
		return nil, err
	}
	for i, s := range to {
		if _, err := c.PutGrant(ctx, s.id, granterID, grants[i]); err != nil {
			return nil, fmt.Errorf("client: team key %s registered, but granting it to %s failed (run the rotation again): %w",
				Fingerprint(team), s.id, err)
		}
	}
	return &TeamKey{Current: team, Fingerprint: Fingerprint(team), History: keys[1:],
		GrantSignature: pgp.SignatureGood, GrantSigner: Fingerprint(me)}, nil
}

// TeamKey fetches staff member staffID's grant and unlocks it with me. The
// grant must be signed by a key of a staff member of the practice (checked
// against the directory) and its current key must be the directory's team
// key.
func (c *Client) TeamKey(ctx context.Context, staffID string, me *openpgp.Entity) (*TeamKey, error) {
	g, err := c.GetGrant(ctx, staffID)
	if err != nil {
		return nil, err
	}
	signers := NewSigners()
	if err := c.addStaffSigners(ctx, signers); err != nil {
		return nil, err
	}
	tk, err := unlockTeamKey([]byte(g.Armored), me, signers.Keyring())
	if err != nil {
		return nil, err
	}
	if tk.GrantSignature != pgp.SignatureGood {
		return nil, fmt.Errorf("%w: grant signature is %s, not good from a staff key", ErrBadGrant, tk.GrantSignature)
	}
	if tk.Fingerprint != g.TeamFingerprint {
		return nil, fmt.Errorf("%w: the grant holds team key %s, the directory's is %s", ErrBadGrant, tk.Fingerprint, g.TeamFingerprint)
	}
	return tk, nil
}

// TeamGrant gives staff member newStaffID the team keys: staff member
// myID (me, their unlocked key) opens their own grant and re-encrypts it
// to newStaffID's current key. pinned, when not "", must be that key's
// fingerprint.
func (c *Client) TeamGrant(ctx context.Context, myID string, me *openpgp.Entity, newStaffID, pinned string) (*GrantInfo, error) {
	tk, err := c.TeamKey(ctx, myID, me)
	if err != nil {
		return nil, err
	}
	to, err := c.currentStaffKey(ctx, newStaffID)
	if err != nil {
		return nil, err
	}
	if pinned != "" && normFingerprint(pinned) != to.Fingerprint {
		return nil, fmt.Errorf("%w: %s's key is %s, pinned %s", ErrPinMismatch, newStaffID, to.Fingerprint, pinned)
	}
	grant, err := makeGrant(tk.Keyring(), to, me)
	if err != nil {
		return nil, err
	}
	return c.PutGrant(ctx, newStaffID, myID, grant)
}

// TeamRotate replaces the team key from staff member myID's device: it
// deletes the grants of every staff member in excluding, makes a new team
// key and grants it, with the earlier team keys, to every other staff
// member who has a key. Messages sent afterwards are unreadable to the
// excluded members. It returns the new team key and the staff ids granted.
func (c *Client) TeamRotate(ctx context.Context, myID string, me *openpgp.Entity, excluding ...string) (*TeamKey, []string, error) {
	if slices.Contains(excluding, myID) {
		return nil, nil, fmt.Errorf("client: cannot exclude yourself (%s) from the team key you rotate", myID)
	}
	old, err := c.TeamKey(ctx, myID, me)
	if err != nil {
		return nil, nil, err
	}
	staff, err := c.ListStaff(ctx)
	if err != nil {
		return nil, nil, err
	}
	mine, err := c.checkOwnKey(ctx, myID, me)
	if err != nil {
		return nil, nil, err
	}
	to := []*staffKey{{id: myID, key: mine}}
	for _, st := range staff {
		if st.ID == myID || st.Fingerprint == "" || slices.Contains(excluding, st.ID) {
			continue
		}
		pub, err := c.currentStaffKey(ctx, st.ID)
		if err != nil {
			return nil, nil, err
		}
		to = append(to, &staffKey{id: st.ID, key: pub})
	}
	for _, id := range excluding {
		if _, err := c.DeleteGrants(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	tk, err := c.installTeamKey(ctx, myID, me, old.Keyring(), to)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(to))
	for i, s := range to {
		ids[i] = s.id
	}
	return tk, ids, nil
}
