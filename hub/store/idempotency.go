package store

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// claimAttempts bounds ClaimIdempotencyKey's retries when the key it found
// is deleted before it can be read.
const claimAttempts = 3

// ClaimIdempotencyKey records key for the practice with INSERT ... ON
// CONFLICT DO NOTHING and returns nil, nil when this call claimed it. When
// the key exists already it returns the stored response (Status 0 while
// the first call has not saved one).
//
// Concurrent claims queue behind the first: in PostgreSQL the conflicting
// insert waits for the first transaction to end; in SQLite the write
// transaction waits at BEGIN IMMEDIATE. Either way a waiting call sees the
// first's response once it commits, or claims the key if it rolled back.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, practiceID, key string, requestHash []byte) (*hub.IdempotentResponse, error) {
	const op = "claim idempotency key"
	for range claimAttempts {
		res, err := s.exec(ctx, `INSERT INTO idempotency_keys (practice_id, key, request_hash, status, body, created)
			VALUES (?, ?, ?, 0, NULL, ?)
			ON CONFLICT (practice_id, key) DO NOTHING`,
			practiceID, key, notNilBytes(requestHash), s.d.time(time.Now()))
		if err != nil {
			return nil, s.d.wrap(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, s.d.wrap(op, err)
		}
		if n == 1 {
			return nil, nil
		}
		var r hub.IdempotentResponse
		err = s.queryRow(ctx, `SELECT request_hash, status, body FROM idempotency_keys WHERE practice_id = ? AND key = ?`,
			practiceID, key).Scan(&r.RequestHash, &r.Status, &r.Body)
		if isNoRows(err) {
			continue // deleted since the insert: claim again
		}
		if err != nil {
			return nil, s.d.wrap(op, err)
		}
		return &r, nil
	}
	return nil, s.d.wrap(op, errClaimRace)
}

// SaveIdempotentResponse stores the answer for a claimed key; ErrNoRows
// when the key is not claimed.
func (s *Store) SaveIdempotentResponse(ctx context.Context, practiceID, key string, status int, body []byte) error {
	return s.execOne(ctx, "save idempotent response",
		`UPDATE idempotency_keys SET status = ?, body = ? WHERE practice_id = ? AND key = ?`,
		status, notNilBytes(body), practiceID, key)
}

// DeleteIdempotencyKeysBefore removes keys claimed before t.
func (s *Store) DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM idempotency_keys WHERE created < ?`, s.d.time(t))
	if err != nil {
		return 0, s.d.wrap("delete idempotency keys", err)
	}
	n, err := res.RowsAffected()
	return n, s.d.wrap("delete idempotency keys", err)
}
