package store_test

import (
	"errors"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestTx(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name       string
		fn         func(tx *store.Store, p *hub.Practice) error
		wantErr    error
		wantPanic  bool
		wantStored bool
	}{
		{
			name:       "commit",
			fn:         func(tx *store.Store, p *hub.Practice) error { return tx.CreatePractice(t.Context(), p) },
			wantStored: true,
		},
		{
			name: "rollback on error",
			fn: func(tx *store.Store, p *hub.Practice) error {
				if err := tx.CreatePractice(t.Context(), p); err != nil {
					return err
				}
				return errBoom
			},
			wantErr: errBoom,
		},
		{
			name: "rollback on panic",
			fn: func(tx *store.Store, p *hub.Practice) error {
				if err := tx.CreatePractice(t.Context(), p); err != nil {
					return err
				}
				panic(errBoom)
			},
			wantPanic: true,
		},
		{
			name: "nested runs in the same transaction",
			fn: func(tx *store.Store, p *hub.Practice) error {
				err := tx.Tx(t.Context(), func(inner *store.Store) error {
					return inner.CreatePractice(t.Context(), p)
				})
				if err != nil {
					return err
				}
				// The nested call did not commit: the outer error undoes it.
				return errBoom
			},
			wantErr: errBoom,
		},
		{
			name: "nested sees outer writes",
			fn: func(tx *store.Store, p *hub.Practice) error {
				if err := tx.CreatePractice(t.Context(), p); err != nil {
					return err
				}
				return tx.Tx(t.Context(), func(inner *store.Store) error {
					_, err := inner.GetPractice(t.Context(), p.ID)
					return err
				})
			},
			wantStored: true,
		},
	}
	forEachDB(t, func(t *testing.T, s *store.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				p := &hub.Practice{ID: hub.NewID(hub.PrefixPractice), Name: tt.name}
				var err error
				panicked := func() (panicked bool) {
					defer func() { panicked = recover() != nil }()
					err = s.Tx(ctx, func(tx *store.Store) error { return tt.fn(tx, p) })
					return false
				}()
				if panicked != tt.wantPanic {
					t.Fatalf("panicked = %v, want %v", panicked, tt.wantPanic)
				}
				if !tt.wantPanic && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Tx = %v, want %v", err, tt.wantErr)
				}
				_, err = s.GetPractice(ctx, p.ID)
				if stored := err == nil; stored != tt.wantStored {
					t.Errorf("practice stored = %v (%v), want %v", stored, err, tt.wantStored)
				}
				// The pool is healthy afterwards.
				if err := s.Ping(ctx); err != nil {
					t.Fatalf("Ping after Tx: %v", err)
				}
			})
		}
	})
}
