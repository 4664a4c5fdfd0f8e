package store

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

const sessionCols = `token_hash, practice_id, staff_id, csrf, mfa_pending, source, created, last_seen`

func scanSession(sc scanner, s *hub.Session) error {
	return sc.Scan(&s.TokenHash, &s.PracticeID, &s.StaffID, &s.CSRF, &s.MFAPending, &s.Source,
		timeCol{&s.Created}, timeCol{&s.LastSeen})
}

// CreateSession inserts sess. A zero Created is filled in, and a zero
// LastSeen is Created.
func (s *Store) CreateSession(ctx context.Context, sess *hub.Session) error {
	sess.Created = orNow(sess.Created)
	if sess.LastSeen.IsZero() {
		sess.LastSeen = sess.Created
	}
	sess.LastSeen = normTime(sess.LastSeen)
	_, err := s.exec(ctx, `INSERT INTO staff_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		notNilBytes(sess.TokenHash), sess.PracticeID, sess.StaffID, sess.CSRF, sess.MFAPending, sess.Source,
		s.d.time(sess.Created), s.d.time(sess.LastSeen))
	return s.d.wrap("create session", err)
}

// GetSession finds a session by the hash of its token.
func (s *Store) GetSession(ctx context.Context, tokenHash []byte) (*hub.Session, error) {
	var sess hub.Session
	err := scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM staff_sessions WHERE token_hash = ?`,
		notNilBytes(tokenHash)), &sess)
	if err != nil {
		return nil, s.d.wrap("get session", err)
	}
	return &sess, nil
}

// TouchSession sets a session's LastSeen.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return s.execOne(ctx, "touch session", `UPDATE staff_sessions SET last_seen = ? WHERE token_hash = ?`,
		s.d.time(at), notNilBytes(tokenHash))
}

// DeleteSession removes a session (nil when it is gone already).
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM staff_sessions WHERE token_hash = ?`, notNilBytes(tokenHash))
	return s.d.wrap("delete session", err)
}

// DeleteStaffSessions removes every session of a staff member.
func (s *Store) DeleteStaffSessions(ctx context.Context, practiceID, staffID string) (int64, error) {
	return s.execCount(ctx, "delete staff sessions", `DELETE FROM staff_sessions WHERE practice_id = ? AND staff_id = ?`,
		practiceID, staffID)
}

// DeleteExpiredSessions removes sessions idle since before idleBefore or
// created before createdBefore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	return s.execCount(ctx, "delete expired sessions", `DELETE FROM staff_sessions WHERE last_seen < ? OR created < ?`,
		s.d.time(idleBefore), s.d.time(createdBefore))
}

func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return 0, s.d.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n, s.d.wrap(op, err)
}

const totpCols = `practice_id, staff_id, secret, confirmed, last_step, created`

// PutStaffTOTP inserts or replaces a staff member's second factor. A zero
// Created is filled in.
func (s *Store) PutStaffTOTP(ctx context.Context, t *hub.StaffTOTP) error {
	t.Created = orNow(t.Created)
	_, err := s.exec(ctx, `INSERT INTO staff_totp (`+totpCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (practice_id, staff_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created = excluded.created`,
		t.PracticeID, t.StaffID, notNilBytes(t.Secret), s.d.timePtr(t.Confirmed), t.LastStep, s.d.time(t.Created))
	return s.d.wrap("put staff totp", err)
}

// GetStaffTOTP reads a staff member's second factor.
func (s *Store) GetStaffTOTP(ctx context.Context, practiceID, staffID string) (*hub.StaffTOTP, error) {
	var t hub.StaffTOTP
	err := s.queryRow(ctx, `SELECT `+totpCols+` FROM staff_totp WHERE practice_id = ? AND staff_id = ?`,
		practiceID, staffID).Scan(&t.PracticeID, &t.StaffID, &t.Secret, timePtrCol{&t.Confirmed}, &t.LastStep,
		timeCol{&t.Created})
	if err != nil {
		return nil, s.d.wrap("get staff totp", err)
	}
	return &t, nil
}

// UseTOTPStep records step as used when it is after the last one used.
func (s *Store) UseTOTPStep(ctx context.Context, practiceID, staffID string, step int64) error {
	return s.execOne(ctx, "use totp step", `UPDATE staff_totp SET last_step = ?
		WHERE practice_id = ? AND staff_id = ? AND last_step < ?`, step, practiceID, staffID, step)
}

// DeleteStaffTOTP removes a staff member's second factor.
func (s *Store) DeleteStaffTOTP(ctx context.Context, practiceID, staffID string) error {
	_, err := s.exec(ctx, `DELETE FROM staff_totp WHERE practice_id = ? AND staff_id = ?`, practiceID, staffID)
	return s.d.wrap("delete staff totp", err)
}
