package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/store"
)

func TestMigrate(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			url := b.url(t)
			s := openStore(t, url) // migrates
			v, err := s.SchemaVersion(ctx)
			if err != nil {
				t.Fatalf("SchemaVersion: %v", err)
			}
			if v != wantSchemaVersion {
				t.Fatalf("SchemaVersion = %d, want %d", v, wantSchemaVersion)
			}
			if got := s.Dialect(); got != b.name {
				t.Errorf("Dialect = %q, want %q", got, b.name)
			}
			// Again, from this and from a second process: nothing to do.
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			s2 := openStore(t, url)
			if v2, err := s2.SchemaVersion(ctx); err != nil || v2 != v {
				t.Fatalf("SchemaVersion after re-apply = %d, %v; want %d", v2, err, v)
			}
			for _, table := range []string{"practices", "api_keys", "staff", "patients", "notices", "deliveries",
				"inbox_items", "outbox_items", "idempotency_keys", "audit_events", "settings",
				"keys", "locked_keys", "team_grants", "threads", "messages", "templates"} {
				var n int
				if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
		})
	}
}

// wantSchemaVersion is the number of the last migration.
const wantSchemaVersion = 13

// TestMigrateFrom1 upgrades a database at version 1 that holds a patient:
// 00002 adds encrypted_email (false for existing rows) and the E2EE
// tables, and its Down section undoes it.
func TestMigrateFrom1(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s, err := store.Open(ctx, b.url(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.MigrateUpTo(ctx, 1); err != nil {
				t.Fatalf("MigrateUpTo 1: %v", err)
			}
			if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
				t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
			}
			pr := mustPractice(t, s, "Kauri Health") // practices are unchanged by 00002
			// Times as literals, which both databases accept.
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO patients (id, practice_id, external_id, created, updated)
				VALUES ('pat_old', '`+pr.ID+`', 'OLD', '2026-03-14T09:26:53.000000Z', '2026-03-14T09:26:53.000000Z')`); err != nil {
				t.Fatalf("insert patient at version 1: %v", err)
			}
			if _, err := s.GetPatient(ctx, pr.ID, "OLD"); err == nil {
				t.Fatal("GetPatient at version 1 succeeded; want a missing column")
			}

			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if v, err := s.SchemaVersion(ctx); err != nil || v != wantSchemaVersion {
				t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, wantSchemaVersion)
			}
			got, err := s.GetPatient(ctx, pr.ID, "OLD")
			if err != nil {
				t.Fatalf("GetPatient after upgrade: %v", err)
			}
			if got.ID != "pat_old" || got.EncryptedEmail {
				t.Errorf("patient after upgrade = %+v; want pat_old, EncryptedEmail false", got)
			}
			got.EncryptedEmail = true
			if _, err := s.PutPatient(ctx, got); err != nil {
				t.Fatalf("PutPatient after upgrade: %v", err)
			}
			th := &hub.Thread{PracticeID: pr.ID, PatientID: got.ID}
			if err := s.CreateThread(ctx, th); err != nil {
				t.Fatalf("CreateThread after upgrade: %v", err)
			}

			// Down removes the E2EE tables and the column, keeping patients;
			// Up again restores them.
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM threads"); err != nil {
				t.Fatal(err)
			}
			if err := s.MigrateDownTo(ctx, 1); err != nil {
				t.Fatalf("MigrateDownTo 1: %v", err)
			}
			if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
				t.Fatalf("SchemaVersion after down = %d, %v; want 1", v, err)
			}
			if _, err := s.DB().ExecContext(ctx, "SELECT COUNT(*) FROM threads"); err == nil {
				t.Error("threads still exists after down")
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM patients").Scan(&n); err != nil || n != 1 {
				t.Errorf("patients after down = %d, %v; want 1", n, err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			if got, err := s.GetPatient(ctx, pr.ID, "OLD"); err != nil || got.EncryptedEmail {
				t.Errorf("patient after down and up = %+v, %v; want EncryptedEmail false", got, err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr string // substring; "" for success
		dialect string
	}{
		{name: "sqlite path", url: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), dialect: "sqlite"},
		{name: "sqlite triple slash", url: "sqlite://" + filepath.Join(t.TempDir(), "b.db"), dialect: "sqlite"},
		{name: "sqlite memory", url: "sqlite::memory:", dialect: "sqlite"},
		{name: "sqlite no path", url: "sqlite:", wantErr: "no path"},
		{name: "unknown scheme", url: "mysql://localhost/karere", wantErr: "unsupported"},
		{name: "postgres unreachable", url: "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", wantErr: "connect to postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(t.Context(), tt.url)
			if tt.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded, want error %q", tt.url, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q) = %v, want error containing %q", tt.url, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			defer s.Close()
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if s.Dialect() != tt.dialect {
				t.Errorf("Dialect = %q, want %q", s.Dialect(), tt.dialect)
			}
		})
	}
}

// TestSQLitePragmas checks the connection settings Open promises.
func TestSQLitePragmas(t *testing.T) {
	s := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "p.db"))
	ctx := t.Context()
	tests := []struct {
		name, pragma, want string
	}{
		{"journal mode", "journal_mode", "wal"},
		{"foreign keys", "foreign_keys", "1"},
		{"busy timeout", "busy_timeout", "10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if err := s.DB().QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

// TestPostgresSearchPath checks the tables land in the URL's schema.
func TestPostgresSearchPath(t *testing.T) {
	url := backends[1].url(t)
	s := openStore(t, url)
	var schema string
	if err := s.DB().QueryRowContext(t.Context(),
		"SELECT schemaname FROM pg_tables WHERE tablename = 'deliveries' AND schemaname = current_schema()").Scan(&schema); err != nil {
		t.Fatalf("deliveries not in current schema: %v", err)
	}
	if !strings.Contains(url, "search_path="+schema) {
		t.Errorf("tables in schema %q, URL %q", schema, url)
	}
}
