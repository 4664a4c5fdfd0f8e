// Package audit records who read or changed patient data, and every send:
// one event per act, written in the same transaction as the act (the
// caller passes the transaction's context), never content.
package audit

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// Store keeps audit events (hub/store implements it).
type Store interface {
	// AddAudit stores e (in the transaction ctx carries, if any).
	AddAudit(ctx context.Context, e *hub.AuditEvent) error
	// ListAudit lists a practice's events, newest first, optionally for
	// one patient.
	ListAudit(ctx context.Context, practiceID, patientID string, limit int) ([]hub.AuditEvent, error)
}

// Log writes audit events.
type Log struct {
	store Store
	now   func() time.Time
}

// New returns a Log on store; now nil means time.Now.
func New(store Store, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: store, now: now}
}

// Record writes one event: a did action on subject (a record id), about
// patientID when the act concerns a patient ("" otherwise). Call it with
// the context of the transaction that makes the change, so that both are
// kept or neither.
func (l *Log) Record(ctx context.Context, a hub.Actor, action, patientID, subject string) error {
	return l.store.AddAudit(ctx, &hub.AuditEvent{
		ID: hub.NewID(hub.PrefixAudit), PracticeID: a.PracticeID, Actor: a.ID, Action: action,
		PatientID: patientID, Subject: subject, Source: a.Source, At: l.now().UTC(),
	})
}

// List lists the practice's events, newest first (patientID "" for all).
func (l *Log) List(ctx context.Context, practiceID, patientID string, limit int) ([]hub.AuditEvent, error) {
	return l.store.ListAudit(ctx, practiceID, patientID, limit)
}
