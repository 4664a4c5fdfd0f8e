// Package idempotency makes a retried API call harmless: a call made with
// an Idempotency-Key runs at most once per practice and key, and a repeat
// gets the first answer. The key is claimed in the same transaction as the
// call's writes, so a crash leaves both or neither.
package idempotency

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// MaxKey bounds an Idempotency-Key.
const MaxKey = 255

// Store keeps claimed keys and their answers (hub/store implements it).
type Store interface {
	hub.Transactor
	// ClaimIdempotencyKey records key for the practice inside the current
	// transaction. When the key exists already (a concurrent call waits for
	// the first to commit), it returns the stored response instead; its
	// Status is 0 while the first call has not finished.
	ClaimIdempotencyKey(ctx context.Context, practiceID, key string, requestHash []byte) (*hub.IdempotentResponse, error)
	// SaveIdempotentResponse stores the answer for a claimed key.
	SaveIdempotentResponse(ctx context.Context, practiceID, key string, status int, body []byte) error
	// DeleteIdempotencyKeysBefore removes keys older than t.
	DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error)
}

// Keys runs calls at most once per key.
type Keys struct{ store Store }

// New returns Keys on store.
func New(store Store) *Keys { return &Keys{store: store} }

// Do runs fn at most once per (practice, key): a call with a key seen
// before returns the first call's status and body (replayed=true). A
// different request (hash) with the same key is refused
// (hub.ErrIdempotencyReused), as is one while the first is still running
// (hub.ErrIdempotencyInFlight).
func (k *Keys) Do(ctx context.Context, practiceID, key string, requestHash []byte,
	fn func(ctx context.Context) (int, []byte, error)) (status int, body []byte, replayed bool, err error) {
	if len(key) > MaxKey {
		return 0, nil, false, hub.Invalid("Idempotency-Key", "invalid_idempotency_key", "Idempotency-Key: at most %d characters", MaxKey)
	}
	err = hub.Tx(ctx, k.store, func(ctx context.Context) error {
		prev, err := k.store.ClaimIdempotencyKey(ctx, practiceID, key, requestHash)
		if err != nil {
			return err
		}
		if prev != nil {
			if string(prev.RequestHash) != string(requestHash) {
				return hub.ErrIdempotencyReused
			}
			if prev.Status == 0 {
				return hub.ErrIdempotencyInFlight
			}
			status, body, replayed = prev.Status, prev.Body, true
			return nil
		}
		status, body, err = fn(ctx)
		if err != nil {
			return err
		}
		return k.store.SaveIdempotentResponse(ctx, practiceID, key, status, body)
	})
	return status, body, replayed, err
}

// Expire forgets keys claimed before t (they are kept a day, as Stripe
// does).
func (k *Keys) Expire(ctx context.Context, t time.Time) (int64, error) {
	return k.store.DeleteIdempotencyKeysBefore(ctx, t)
}
