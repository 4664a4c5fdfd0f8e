package store

import (
	"context"

	"github.com/karerehub/karere/hub"
)

// AddAudit appends e. An empty ID and a zero At are filled in.
func (s *Store) AddAudit(ctx context.Context, e *hub.AuditEvent) error {
	e.ID = orNewID(e.ID, hub.PrefixAudit)
	e.At = orNow(e.At)
	_, err := s.exec(ctx, `INSERT INTO audit_events (id, practice_id, actor, action, patient_id, subject, source, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.PracticeID, e.Actor, e.Action, e.PatientID, e.Subject, e.Source, s.d.time(e.At))
	return s.d.wrap("add audit event", err)
}

func scanAudit(sc scanner, e *hub.AuditEvent) error {
	return sc.Scan(&e.ID, &e.PracticeID, &e.Actor, &e.Action, &e.PatientID, &e.Subject, &e.Source, timeCol{&e.At})
}

// ListAudit lists a practice's audit events, newest first: about one
// patient, or all of them when patientID is "".
func (s *Store) ListAudit(ctx context.Context, practiceID, patientID string, limit int) ([]hub.AuditEvent, error) {
	q := `SELECT id, practice_id, actor, action, patient_id, subject, source, at FROM audit_events WHERE practice_id = ?`
	args := []any{practiceID}
	if patientID != "" {
		q += ` AND patient_id = ?`
		args = append(args, patientID)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	return list(ctx, s, "list audit", scanAudit, q, args...)
}
