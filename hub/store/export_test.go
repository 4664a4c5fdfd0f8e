package store

import (
	"context"
	"fmt"
)

// MigrateUpTo applies the migrations up to version (tests of upgrades).
func (s *Store) MigrateUpTo(ctx context.Context, version int64) error {
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("store: migrate up to %d: %w", version, err)
	}
	return nil
}

// MigrateDownTo rolls the migrations back to version.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("store: migrate down to %d: %w", version, err)
	}
	return nil
}
