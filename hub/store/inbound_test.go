package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

// TestClaimInbound: an inbound message id is claimed once per practice
// and channel; a claim rolled back with its transaction can be made
// again; a duplicate inside a PostgreSQL transaction leaves it usable.
func TestClaimInbound(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p1, p2 := mustPractice(t, s, "A").ID, mustPractice(t, s, "B").ID
		now := time.Now()
		claim := func(ctx context.Context, practice, id string) bool {
			t.Helper()
			first, err := s.ClaimInbound(ctx, practice, hub.ChannelSMS, id, now)
			if err != nil {
				t.Fatal(err)
			}
			return first
		}
		if !claim(ctx, p1, "SM1") || claim(ctx, p1, "SM1") {
			t.Error("SM1 claimed twice, or not at all")
		}
		if !claim(ctx, p2, "SM1") {
			t.Error("another practice's SM1 is a separate message")
		}
		if first, err := s.ClaimInbound(ctx, p1, hub.ChannelEmail, "SM1", now); err != nil || !first {
			t.Errorf("another channel: %v, %v", first, err)
		}
		errRollback := context.Canceled
		err := hub.Tx(ctx, s, func(ctx context.Context) error {
			if !claim(ctx, p1, "SM2") {
				t.Error("SM2 not claimed")
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatal(err)
		}
		err = hub.Tx(ctx, s, func(ctx context.Context) error {
			if !claim(ctx, p1, "SM2") {
				t.Error("SM2 still claimed after its transaction rolled back")
			}
			if claim(ctx, p1, "SM1") {
				t.Error("SM1 claimed again")
			}
			_, err := s.GetPractice(ctx, p1) // the transaction is still usable
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
