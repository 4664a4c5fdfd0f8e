package hub

import (
	"context"
	"log/slog"
	"time"
)

// PracticeReader reads practices; every subdomain that shows a practice's
// name, phone or time zone consumes it (hub/store implements it).
type PracticeReader interface {
	GetPractice(ctx context.Context, id string) (*Practice, error)
}

// PatientReader reads a practice's patients, by the PMS's external id or
// by Karere's id (hub/store implements it). A patient of another practice
// is ErrNoRows.
type PatientReader interface {
	GetPatient(ctx context.Context, practiceID, externalID string) (*Patient, error)
	GetPatientByID(ctx context.Context, practiceID, id string) (*Patient, error)
}

// OrDefaults returns log and now, or slog.Default and time.Now where they
// are nil: what every service does with its Config.
func OrDefaults(log *slog.Logger, now func() time.Time) (*slog.Logger, func() time.Time) {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return log, now
}

// InboundClaimer records a provider's inbound message as acted on, so that
// a replay of it (Twilio retrying, or a captured request sent again) does
// nothing; hub/store implements it.
type InboundClaimer interface {
	// ClaimInbound records (practiceID, via, id); first is false when it
	// was recorded before. In a transaction, the record commits or rolls
	// back with what was done.
	ClaimInbound(ctx context.Context, practiceID, via, id string, at time.Time) (first bool, err error)
}
