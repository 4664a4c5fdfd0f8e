package store_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestIdempotencyKeys(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		hash := []byte{0xde, 0xad, 0xbe, 0xef}
		r, err := s.ClaimIdempotencyKey(ctx, p.ID, "k1", hash)
		if r != nil || err != nil {
			t.Fatalf("first claim = %+v, %v; want nil, nil", r, err)
		}
		// Claimed, not yet answered.
		r, err = s.ClaimIdempotencyKey(ctx, p.ID, "k1", []byte("other"))
		if err != nil || r == nil || r.Status != 0 || !bytes.Equal(r.RequestHash, hash) || len(r.Body) != 0 {
			t.Fatalf("second claim = %+v, %v; want the pending claim", r, err)
		}
		body := []byte(`{"id":"ntc_1"}`)
		if err := s.SaveIdempotentResponse(ctx, p.ID, "k1", 202, body); err != nil {
			t.Fatalf("SaveIdempotentResponse: %v", err)
		}
		r, err = s.ClaimIdempotencyKey(ctx, p.ID, "k1", hash)
		if err != nil || r == nil || r.Status != 202 || !bytes.Equal(r.Body, body) || !bytes.Equal(r.RequestHash, hash) {
			t.Fatalf("claim after save = %+v, %v", r, err)
		}
		wantErr(t, "save unclaimed", s.SaveIdempotentResponse(ctx, p.ID, "nope", 200, nil), hub.ErrNoRows)

		// Cleanup: keys claimed before the cut go.
		n, err := s.DeleteIdempotencyKeysBefore(ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 0 {
			t.Fatalf("DeleteIdempotencyKeysBefore(an hour ago) = %d, %v; want 0", n, err)
		}
		n, err = s.DeleteIdempotencyKeysBefore(ctx, time.Now().Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("DeleteIdempotencyKeysBefore(now) = %d, %v; want 1", n, err)
		}
		if r, err := s.ClaimIdempotencyKey(ctx, p.ID, "k1", hash); r != nil || err != nil {
			t.Fatalf("claim after delete = %+v, %v; want a new claim", r, err)
		}
	})
}

// TestIdempotencyConcurrent: ten calls with one key, each in its own
// transaction. One claims it; the others wait and get its saved answer.
func TestIdempotencyConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustPractice(t, s, "Kauri Health")
		const calls = 10
		body := []byte(`{"ids":["dlv_1"]}`)
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]*hub.IdempotentResponse, calls)
			errs    = make([]error, calls)
		)
		for i := range calls {
			wg.Go(func() {
				<-start
				errs[i] = s.Tx(ctx, func(tx *store.Store) error {
					r, err := tx.ClaimIdempotencyKey(ctx, p.ID, "same-key", []byte("hash"))
					if err != nil {
						return err
					}
					results[i] = r
					if r != nil {
						return nil
					}
					// The winner does its work while the others pile up.
					time.Sleep(100 * time.Millisecond)
					return tx.SaveIdempotentResponse(ctx, p.ID, "same-key", 202, body)
				})
			})
		}
		close(start)
		wg.Wait()
		claimed := 0
		for i := range calls {
			if errs[i] != nil {
				t.Errorf("call %d: %v", i, errs[i])
				continue
			}
			r := results[i]
			if r == nil {
				claimed++
				continue
			}
			if r.Status != 202 || !bytes.Equal(r.Body, body) || string(r.RequestHash) != "hash" {
				t.Errorf("call %d got %+v, want the saved response", i, r)
			}
		}
		if claimed != 1 {
			t.Errorf("%d calls claimed the key, want 1", claimed)
		}
	})
}
