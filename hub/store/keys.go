package store

import (
	"context"

	"github.com/karerehub/karere/hub"
)

// AddKey stores k as its owner's current key and marks every other current
// key of the owner superseded at k.Created. A key whose fingerprint the
// owner registered before is made current again: its row keeps its ID and
// Created (both set on k) and takes k's Algorithm and Armored. An empty ID
// and a zero Created are filled in.
//
// It runs in the caller's transaction, or in one of its own. At most one
// key per owner is current (a unique index): a concurrent AddKey for the
// same owner in PostgreSQL fails with hub.ErrConflict rather than leave two.
func (s *Store) AddKey(ctx context.Context, k *hub.Key) error {
	return s.InTx(ctx, func(ctx context.Context) error { return s.addKey(ctx, k) })
}

func (s *Store) addKey(ctx context.Context, k *hub.Key) error {
	const op = "add key"
	id := orNewID(k.ID, hub.PrefixKey)
	at := orNow(k.Created)
	if _, err := s.exec(ctx, `UPDATE keys SET superseded = ?
		WHERE practice_id = ? AND owner_kind = ? AND owner_id = ? AND superseded IS NULL AND fingerprint <> ?`,
		s.d.time(at), k.PracticeID, k.OwnerKind, k.OwnerID, k.Fingerprint); err != nil {
		return s.d.wrap(op, err)
	}
	var gotID string
	var gotCreated = at
	err := s.queryRow(ctx, `INSERT INTO keys (`+keyCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (practice_id, owner_kind, owner_id, fingerprint)
		DO UPDATE SET algorithm = excluded.algorithm, armored = excluded.armored, superseded = NULL
		RETURNING id, created`,
		id, k.PracticeID, k.OwnerKind, k.OwnerID, k.Fingerprint, k.Algorithm, notNilBytes(k.Armored), s.d.time(at)).
		Scan(&gotID, timeCol{&gotCreated})
	if err != nil {
		return s.d.wrap(op, err)
	}
	k.ID, k.Created, k.Superseded = gotID, gotCreated, nil
	return nil
}

const keyCols = `id, practice_id, owner_kind, owner_id, fingerprint, algorithm, armored, created, superseded`

func scanKey(sc scanner, k *hub.Key) error {
	return sc.Scan(&k.ID, &k.PracticeID, &k.OwnerKind, &k.OwnerID, &k.Fingerprint, &k.Algorithm, &k.Armored,
		timeCol{&k.Created}, timePtrCol{&k.Superseded})
}

// CurrentKey reads the owner's key that is not superseded.
func (s *Store) CurrentKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*hub.Key, error) {
	var k hub.Key
	err := scanKey(s.queryRow(ctx, `SELECT `+keyCols+` FROM keys
		WHERE practice_id = ? AND owner_kind = ? AND owner_id = ? AND superseded IS NULL`,
		practiceID, ownerKind, ownerID), &k)
	if err != nil {
		return nil, s.d.wrap("current key", err)
	}
	return &k, nil
}

// ListKeys lists the owner's keys, the current one first, then newest
// first; at most MaxLimit.
func (s *Store) ListKeys(ctx context.Context, practiceID, ownerKind, ownerID string) ([]hub.Key, error) {
	return list(ctx, s, "list keys", scanKey, `SELECT `+keyCols+` FROM keys
		WHERE practice_id = ? AND owner_kind = ? AND owner_id = ?
		ORDER BY CASE WHEN superseded IS NULL THEN 0 ELSE 1 END, created DESC, id DESC LIMIT ?`,
		practiceID, ownerKind, ownerID, MaxLimit)
}

// PutLockedKey inserts or replaces the owner's locked private key. A zero
// Updated is set to now.
func (s *Store) PutLockedKey(ctx context.Context, k *hub.LockedKey) error {
	k.Updated = orNow(k.Updated)
	_, err := s.exec(ctx, `INSERT INTO locked_keys (practice_id, owner_kind, owner_id, fingerprint, armored, updated)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (practice_id, owner_kind, owner_id)
		DO UPDATE SET fingerprint = excluded.fingerprint, armored = excluded.armored, updated = excluded.updated`,
		k.PracticeID, k.OwnerKind, k.OwnerID, k.Fingerprint, notNilBytes(k.Armored), s.d.time(k.Updated))
	return s.d.wrap("put locked key", err)
}

// GetLockedKey reads the owner's locked private key.
func (s *Store) GetLockedKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*hub.LockedKey, error) {
	var k hub.LockedKey
	err := s.queryRow(ctx, `SELECT practice_id, owner_kind, owner_id, fingerprint, armored, updated FROM locked_keys
		WHERE practice_id = ? AND owner_kind = ? AND owner_id = ?`, practiceID, ownerKind, ownerID).
		Scan(&k.PracticeID, &k.OwnerKind, &k.OwnerID, &k.Fingerprint, &k.Armored, timeCol{&k.Updated})
	if err != nil {
		return nil, s.d.wrap("get locked key", err)
	}
	return &k, nil
}

const teamGrantCols = `practice_id, staff_id, team_key_id, message, granted_by, created`

func scanTeamGrant(sc scanner, g *hub.TeamGrant) error {
	return sc.Scan(&g.PracticeID, &g.StaffID, &g.TeamKeyID, &g.Message, &g.GrantedBy, timeCol{&g.Created})
}

// PutTeamGrant inserts or replaces the grant for (practice, staff, team
// key). The team key must be a key of the same practice. A zero Created is
// filled in.
func (s *Store) PutTeamGrant(ctx context.Context, g *hub.TeamGrant) error {
	g.Created = orNow(g.Created)
	_, err := s.exec(ctx, `INSERT INTO team_grants (`+teamGrantCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (practice_id, staff_id, team_key_id)
		DO UPDATE SET message = excluded.message, granted_by = excluded.granted_by, created = excluded.created`,
		g.PracticeID, g.StaffID, g.TeamKeyID, notNilBytes(g.Message), g.GrantedBy, s.d.time(g.Created))
	return s.d.wrap("put team grant", err)
}

// GetTeamGrant reads a staff member's grant of a team key.
func (s *Store) GetTeamGrant(ctx context.Context, practiceID, staffID, teamKeyID string) (*hub.TeamGrant, error) {
	var g hub.TeamGrant
	err := scanTeamGrant(s.queryRow(ctx, `SELECT `+teamGrantCols+` FROM team_grants
		WHERE practice_id = ? AND staff_id = ? AND team_key_id = ?`, practiceID, staffID, teamKeyID), &g)
	if err != nil {
		return nil, s.d.wrap("get team grant", err)
	}
	return &g, nil
}

// ListTeamGrants lists the grants of a team key, oldest first.
func (s *Store) ListTeamGrants(ctx context.Context, practiceID, teamKeyID string) ([]hub.TeamGrant, error) {
	return list(ctx, s, "list team grants", scanTeamGrant, `SELECT `+teamGrantCols+` FROM team_grants
		WHERE practice_id = ? AND team_key_id = ? ORDER BY created, staff_id`, practiceID, teamKeyID)
}

// DeleteTeamGrants removes all of a staff member's grants and returns how
// many there were.
func (s *Store) DeleteTeamGrants(ctx context.Context, practiceID, staffID string) (int64, error) {
	const op = "delete team grants"
	res, err := s.exec(ctx, `DELETE FROM team_grants WHERE practice_id = ? AND staff_id = ?`, practiceID, staffID)
	if err != nil {
		return 0, s.d.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n, s.d.wrap(op, err)
}
