package store

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// CreatePractice inserts p. An empty ID and a zero Created are filled in.
func (s *Store) CreatePractice(ctx context.Context, p *hub.Practice) error {
	p.ID = orNewID(p.ID, hub.PrefixPractice)
	p.Created = orNow(p.Created)
	_, err := s.exec(ctx, `INSERT INTO practices (id, name, time_zone, phone, created) VALUES (?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.TimeZone, p.Phone, s.d.time(p.Created))
	return s.d.wrap("create practice", err)
}

const practiceCols = `id, name, time_zone, phone, created`

func scanPractice(sc scanner, p *hub.Practice) error {
	return sc.Scan(&p.ID, &p.Name, &p.TimeZone, &p.Phone, timeCol{&p.Created})
}

// GetPractice reads a practice.
func (s *Store) GetPractice(ctx context.Context, id string) (*hub.Practice, error) {
	var p hub.Practice
	err := scanPractice(s.queryRow(ctx, `SELECT `+practiceCols+` FROM practices WHERE id = ?`, id), &p)
	if err != nil {
		return nil, s.d.wrap("get practice", err)
	}
	return &p, nil
}

// ListPractices lists every practice, oldest first.
func (s *Store) ListPractices(ctx context.Context) ([]hub.Practice, error) {
	return list(ctx, s, "list practices", scanPractice,
		`SELECT `+practiceCols+` FROM practices ORDER BY created, id`)
}

// CreateAPIKey inserts k. An empty ID and a zero Created are filled in.
func (s *Store) CreateAPIKey(ctx context.Context, k *hub.APIKey) error {
	k.ID = orNewID(k.ID, hub.PrefixKey)
	k.Created = orNow(k.Created)
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, practice_id, mode, secret_hash, label, created, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.PracticeID, string(k.Mode), notNilBytes(k.SecretHash), k.Label, s.d.time(k.Created), s.d.timePtr(k.Revoked))
	return s.d.wrap("create api key", err)
}

// GetAPIKey finds a key by its public id, whatever its practice.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*hub.APIKey, error) {
	var k hub.APIKey
	var mode string
	err := s.queryRow(ctx, `SELECT id, practice_id, mode, secret_hash, label, created, revoked FROM api_keys WHERE id = ?`, id).
		Scan(&k.ID, &k.PracticeID, &mode, &k.SecretHash, &k.Label, timeCol{&k.Created}, timePtrCol{&k.Revoked})
	if err != nil {
		return nil, s.d.wrap("get api key", err)
	}
	k.Mode = hub.KeyMode(mode)
	return &k, nil
}

// CreateStaff inserts st; ErrConflict when the email (case-insensitive) is
// taken. An empty ID and a zero Created are filled in.
func (s *Store) CreateStaff(ctx context.Context, st *hub.Staff) error {
	st.ID = orNewID(st.ID, hub.PrefixStaff)
	st.Created = orNow(st.Created)
	_, err := s.exec(ctx, `INSERT INTO staff (id, practice_id, email, name, password_hash, created) VALUES (?, ?, ?, ?, ?, ?)`,
		st.ID, st.PracticeID, st.Email, st.Name, st.PasswordHash, s.d.time(st.Created))
	return s.d.wrap("create staff", err)
}

const staffCols = `id, practice_id, email, name, password_hash, created`

func scanStaff(sc scanner, st *hub.Staff) error {
	return sc.Scan(&st.ID, &st.PracticeID, &st.Email, &st.Name, &st.PasswordHash, timeCol{&st.Created})
}

// GetStaff reads a practice's staff member.
func (s *Store) GetStaff(ctx context.Context, practiceID, id string) (*hub.Staff, error) {
	var st hub.Staff
	err := scanStaff(s.queryRow(ctx, `SELECT `+staffCols+` FROM staff WHERE practice_id = ? AND id = ?`, practiceID, id), &st)
	if err != nil {
		return nil, s.d.wrap("get staff", err)
	}
	return &st, nil
}

// GetStaffByEmail finds a staff member by sign-in email (case-insensitive).
func (s *Store) GetStaffByEmail(ctx context.Context, email string) (*hub.Staff, error) {
	var st hub.Staff
	err := scanStaff(s.queryRow(ctx, `SELECT `+staffCols+` FROM staff WHERE lower(email) = lower(?)`, email), &st)
	if err != nil {
		return nil, s.d.wrap("get staff by email", err)
	}
	return &st, nil
}

// ListStaff lists a practice's staff, oldest first.
func (s *Store) ListStaff(ctx context.Context, practiceID string) ([]hub.Staff, error) {
	return list(ctx, s, "list staff", scanStaff,
		`SELECT `+staffCols+` FROM staff WHERE practice_id = ? ORDER BY created, id`, practiceID)
}

// PutSetting inserts or replaces a practice's settings document.
func (s *Store) PutSetting(ctx context.Context, practiceID, kind string, value []byte) error {
	_, err := s.exec(ctx, `INSERT INTO settings (practice_id, kind, value, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (practice_id, kind) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
		practiceID, kind, notNilBytes(value), s.d.time(time.Now()))
	return s.d.wrap("put setting", err)
}

// GetSetting reads a practice's settings document; ErrNoRows when none is
// stored.
func (s *Store) GetSetting(ctx context.Context, practiceID, kind string) ([]byte, error) {
	var v []byte
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE practice_id = ? AND kind = ?`, practiceID, kind).Scan(&v)
	if err != nil {
		return nil, s.d.wrap("get setting", err)
	}
	return v, nil
}
