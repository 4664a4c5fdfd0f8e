package messaging

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/pgp"
)

// MaxKeyBytes bounds an uploaded key (armored public or locked private).
const MaxKeyBytes = 64 << 10

// pgpError turns an error of hub/pgp into an API error with its code.
func pgpError(field string, err error) error {
	code := pgp.Code(err)
	if code == "" {
		return err
	}
	kind := hub.KindUnprocessable
	if code == "message_too_large" || code == "key_too_large" {
		kind = hub.KindTooLarge
	}
	return &hub.Error{Kind: kind, Code: code, Field: field, Message: err.Error(), Err: err}
}

// KeyOwner names whose key an API call is about.
type KeyOwner struct {
	Kind string // OwnerPatient, OwnerStaff, OwnerTeam
	Ref  string // patient external id, staff id; "" for the team
}

// resolveOwner finds the owner's internal id in the actor's practice.
func (s *Service) resolveOwner(ctx context.Context, a hub.Actor, o KeyOwner) (id, patientID string, err error) {
	switch o.Kind {
	case hub.OwnerPatient:
		p, err := s.patient(ctx, a.PracticeID, o.Ref)
		if err != nil {
			return "", "", err
		}
		return p.ID, p.ID, nil
	case hub.OwnerStaff:
		st, err := s.store.GetStaff(ctx, a.PracticeID, o.Ref)
		if errors.Is(err, hub.ErrNoRows) {
			return "", "", hub.NotFound("staff member")
		}
		if err != nil {
			return "", "", err
		}
		return st.ID, "", nil
	case hub.OwnerTeam:
		return a.PracticeID, "", nil
	}
	return "", "", hub.Invalid("owner", "invalid_owner", "owner: patient, staff or team")
}

// KeyView is a directory key with what hub/pgp read from it.
type KeyView struct {
	Key    hub.Key
	Public *pgp.PublicKey
}

// PutKey registers an owner's public key. It must pass hub/pgp's checks
// (modern algorithms, not expired or revoked, an encryption subkey). The
// owner's previous key is kept, superseded, so old messages stay readable.
func (s *Service) PutKey(ctx context.Context, a hub.Actor, o KeyOwner, armored []byte) (*KeyView, error) {
	if len(armored) > MaxKeyBytes {
		return nil, hub.ErrTooLarge
	}
	pub, err := pgp.ParsePublicKey(armored, s.Now())
	if err != nil {
		return nil, pgpError("key", err)
	}
	k := &hub.Key{ID: hub.NewID("key"), PracticeID: a.PracticeID, OwnerKind: o.Kind, Fingerprint: pub.Fingerprint,
		Algorithm: pub.Algorithm, Armored: pub.Armored, Created: s.Now()}
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		id, patientID, err := s.resolveOwner(ctx, a, o)
		if err != nil {
			return err
		}
		if o.Kind != hub.OwnerTeam { // the team key is set up from a staff member's client
			if err := ownOnly(a, o); err != nil {
				return err
			}
		}
		k.OwnerID = id
		if err := s.store.AddKey(ctx, k); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "key."+o.Kind+".put", patientID, k.Fingerprint)
	})
	if err != nil {
		return nil, err
	}
	return &KeyView{Key: *k, Public: pub}, nil
}

// Keys lists an owner's keys, current first.
func (s *Service) Keys(ctx context.Context, a hub.Actor, o KeyOwner) ([]hub.Key, error) {
	var ks []hub.Key
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		id, _, err := s.resolveOwner(ctx, a, o)
		if err != nil {
			return err
		}
		ks, err = s.store.ListKeys(ctx, a.PracticeID, o.Kind, id)
		return err
	})
	if err == nil && len(ks) == 0 {
		return nil, &hub.Error{Kind: hub.KindNotFound, Code: "no_key", Message: o.Kind + " has no key registered"}
	}
	return ks, err
}

// currentPublic loads and parses an owner's current key.
func (s *Service) currentPublic(ctx context.Context, practiceID, kind, ownerID string) (*pgp.PublicKey, *hub.Key, error) {
	k, err := s.store.CurrentKey(ctx, practiceID, kind, ownerID)
	if err != nil {
		return nil, nil, err
	}
	pub, err := pgp.ParsePublicKey(k.Armored, s.Now())
	if err != nil {
		return nil, k, err
	}
	return pub, k, nil
}

// PutLockedKey stores an owner's passphrase-locked private key for their
// other devices. Every secret part must be encrypted, and the key must be
// the private half of the owner's current public key.
func (s *Service) PutLockedKey(ctx context.Context, a hub.Actor, o KeyOwner, armored []byte) (*hub.LockedKey, error) {
	if len(armored) > MaxKeyBytes {
		return nil, hub.ErrTooLarge
	}
	lk, err := pgp.CheckLockedPrivateKey(armored)
	if err != nil {
		return nil, pgpError("key", err)
	}
	out := &hub.LockedKey{PracticeID: a.PracticeID, OwnerKind: o.Kind, Fingerprint: lk.Fingerprint,
		Armored: armored, Updated: s.Now()}
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		id, patientID, err := s.resolveOwner(ctx, a, o)
		if err != nil {
			return err
		}
		if err := ownOnly(a, o); err != nil {
			return err
		}
		pub, _, err := s.currentPublic(ctx, a.PracticeID, o.Kind, id)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.Unprocessable("key", "no_public_key", "register the public key first (PUT .../key)")
		}
		if err != nil {
			return pgpError("key", err)
		}
		if !lk.Matches(pub) {
			return hub.Unprocessable("key", "fingerprint_mismatch",
				"this private key is not the private half of the registered public key %s", pub.Fingerprint)
		}
		out.OwnerID = id
		if err := s.store.PutLockedKey(ctx, out); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "key."+o.Kind+".locked.put", patientID, lk.Fingerprint)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ownOnly refuses a signed-in staff member acting on someone else's
// private key material: a colleague's locked key, or a patient's. (The
// practice's API key, used by the portal backend and admins, may.)
func ownOnly(a hub.Actor, o KeyOwner) error {
	if a.StaffID != "" && (o.Kind != hub.OwnerStaff || o.Ref != a.StaffID) {
		return hub.ErrForbidden
	}
	return nil
}

// LockedKey returns an owner's locked private key.
func (s *Service) LockedKey(ctx context.Context, a hub.Actor, o KeyOwner) (*hub.LockedKey, error) {
	var lk *hub.LockedKey
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		id, patientID, err := s.resolveOwner(ctx, a, o)
		if err != nil {
			return err
		}
		if err := ownOnly(a, o); err != nil {
			return err
		}
		lk, err = s.store.GetLockedKey(ctx, a.PracticeID, o.Kind, id)
		if errors.Is(err, hub.ErrNoRows) {
			return &hub.Error{Kind: hub.KindNotFound, Code: "no_locked_key", Message: "no locked private key is stored"}
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "key."+o.Kind+".locked.read", patientID, lk.Fingerprint)
	})
	return lk, err
}

// PutTeamGrant stores the team key's private part encrypted to a staff
// member: an OpenPGP message that must be encrypted to that staff member's
// current key (and to no one else's).
func (s *Service) PutTeamGrant(ctx context.Context, a hub.Actor, staffID string, msg []byte) (*hub.TeamGrant, error) {
	env, err := pgp.Inspect(bytes.NewReader(msg), MaxKeyBytes)
	if err != nil {
		return nil, pgpError("grant", err)
	}
	g := &hub.TeamGrant{PracticeID: a.PracticeID, StaffID: staffID, Message: env.Binary, GrantedBy: a.StaffID, Created: s.Now()}
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		st, err := s.store.GetStaff(ctx, a.PracticeID, staffID)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.NotFound("staff member")
		}
		if err != nil {
			return err
		}
		pub, _, err := s.currentPublic(ctx, a.PracticeID, hub.OwnerStaff, st.ID)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.Unprocessable("staff", "no_staff_key", "the staff member has no key registered")
		}
		if err != nil {
			return pgpError("staff", err)
		}
		team, err := s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerTeam, a.PracticeID)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.ErrNoTeamKey
		}
		if err != nil {
			return err
		}
		if err := pgp.CheckRecipients(env, []pgp.Recipient{{Role: pgp.RoleStaff, Key: pub}}); err != nil {
			return pgpError("grant", err)
		}
		g.TeamKeyID = team.ID
		if err := s.store.PutTeamGrant(ctx, g); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "team.grant.put", "", st.ID)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// TeamGrant returns a staff member's grant for the current team key.
func (s *Service) TeamGrant(ctx context.Context, a hub.Actor, staffID string) (*hub.TeamGrant, *hub.Key, error) {
	team, err := s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerTeam, a.PracticeID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, nil, hub.ErrNoTeamKey
	}
	if err != nil {
		return nil, nil, err
	}
	g, err := s.store.GetTeamGrant(ctx, a.PracticeID, staffID, team.ID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, nil, &hub.Error{Kind: hub.KindNotFound, Code: "no_grant",
			Message: "no team key grant for this staff member: ask a colleague to run `karere team grant`"}
	}
	return g, team, err
}

// RevokeStaff removes a staff member's team key grants. The team key must
// then be rotated by a remaining member's client (`karere team rotate`) so
// that new messages are unreadable to the removed member.
func (s *Service) RevokeStaff(ctx context.Context, a hub.Actor, staffID string) (int64, error) {
	var n int64
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		if _, err := s.store.GetStaff(ctx, a.PracticeID, staffID); err != nil {
			if errors.Is(err, hub.ErrNoRows) {
				return hub.NotFound("staff member")
			}
			return err
		}
		var err error
		if n, err = s.store.DeleteTeamGrants(ctx, a.PracticeID, staffID); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "team.grant.revoke", "", staffID)
	})
	return n, err
}

// RecipientKeys returns the keys a message to the patient's thread must be
// encrypted to: the patient's current key and the practice team key.
func (s *Service) RecipientKeys(ctx context.Context, a hub.Actor, patientExternalID string) (patient, team *hub.Key, err error) {
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, patientExternalID)
		if err != nil {
			return err
		}
		if patient, err = s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerPatient, p.ID); errors.Is(err, hub.ErrNoRows) {
			return hub.ErrNoPatientKey
		} else if err != nil {
			return err
		}
		if team, err = s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerTeam, a.PracticeID); errors.Is(err, hub.ErrNoRows) {
			return hub.ErrNoTeamKey
		}
		return err
	})
	return patient, team, err
}

// keyAge is how long a superseded key still counts as a thread's key for
// replies already in flight (a client that fetched keys a moment before a
// rotation).
const keyAge = 10 * time.Minute

// ListStaff lists the practice's staff and their current key fingerprints.
func (s *Service) ListStaff(ctx context.Context, a hub.Actor) ([]hub.Staff, map[string]string, error) {
	staff, err := s.store.ListStaff(ctx, a.PracticeID)
	if err != nil {
		return nil, nil, err
	}
	fps := map[string]string{}
	for _, st := range staff {
		k, err := s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerStaff, st.ID)
		if err == nil {
			fps[st.ID] = k.Fingerprint
		} else if !errors.Is(err, hub.ErrNoRows) {
			return nil, nil, err
		}
	}
	return staff, fps, nil
}
