package store

import (
	"context"
	"time"
)

// ClaimInbound records that the practice's inbound message id, received
// via ("sms": a Twilio MessageSid), has been acted on; first is false when
// it was recorded before. Called in a transaction, the record commits or
// rolls back with the action. It never fails on a duplicate (INSERT ... ON
// CONFLICT DO NOTHING), so a PostgreSQL transaction stays usable.
func (s *Store) ClaimInbound(ctx context.Context, practiceID, via, id string, at time.Time) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO inbound_seen (practice_id, via, provider_id, received) VALUES (?, ?, ?, ?)
		ON CONFLICT (practice_id, via, provider_id) DO NOTHING`, practiceID, via, id, s.d.time(at))
	if err != nil {
		return false, s.d.wrap("claim inbound", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.d.wrap("claim inbound", err)
	}
	return n == 1, nil
}
