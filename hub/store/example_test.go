package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

// Open a store, migrate it, and write in one transaction.
func Example() {
	dir, err := os.MkdirTemp("", "karere-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "karere.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	p := &hub.Practice{Name: "Kauri Health", TimeZone: "Pacific/Auckland"}
	err = s.Tx(ctx, func(tx *store.Store) error {
		if err := tx.CreatePractice(ctx, p); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &hub.AuditEvent{PracticeID: p.ID, Actor: "admin", Action: "practice.create", Subject: p.ID})
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := s.GetPractice(ctx, p.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Dialect(), got.Name)
	// Output: sqlite Kauri Health
}
