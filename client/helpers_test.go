package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/karerehub/karere/client"
	"github.com/karerehub/karere/hub/pgp"
	"github.com/karerehub/karere/internal/hubtest"
	"github.com/karerehub/karere/internal/testenv"
)

// person is a key holder of the tests.
type person struct {
	passphrase []byte
	priv, pub  []byte // armored; priv is locked
	entity     *openpgp.Entity
	fp         string
}

// keyTime is an hour back, so no check sees a key from the future.
var keyTime = time.Now().Add(-time.Hour)

func newPerson(t testing.TB, name, email string) *person {
	t.Helper()
	pass := []byte("passphrase of " + name)
	priv, pub, err := pgp.GenerateKey(name, email, pass, keyTime)
	if err != nil {
		t.Fatal(err)
	}
	e, err := pgp.ReadPrivateKey(priv, pass)
	if err != nil {
		t.Fatal(err)
	}
	return &person{passphrase: pass, priv: priv, pub: pub, entity: e, fp: client.Fingerprint(e)}
}

func startHub(t testing.TB, backend string) (*hubtest.Hub, *client.Client) {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Backend: backend, RedisDB: testenv.RedisDBClient})
	c, err := client.New(h.URL, h.Key, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

func addStaff(t testing.TB, h *hubtest.Hub, email, name string) string {
	t.Helper()
	st, err := h.App.Core().Directory.AddStaff(context.Background(), h.Practice.ID, email, name, "a long enough password 123")
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

func marker(t testing.TB, what string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "PLAINTEXT-MARKER-" + what + "-" + hex.EncodeToString(b)
}

// scanDatabase reads every row of every table and fails the test when any
// column holds one of needles (raw bytes). It returns how many rows it
// read, and whether some row held each of mustSee (to prove it looks).
func scanDatabase(t *testing.T, db *sql.DB, backend string, needles, mustSee []string) int {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if backend == hubtest.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	seen := map[string]bool{}
	total := 0
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			total++
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				var raw []byte
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					raw = v
				case string:
					raw = []byte(v)
				default:
					raw = fmt.Appendf(nil, "%v", v)
				}
				for _, n := range needles {
					if bytes.Contains(raw, []byte(n)) {
						t.Errorf("plaintext %q found in %s.%s", n, table, cols[i])
					}
				}
				for _, s := range mustSee {
					if bytes.Contains(raw, []byte(s)) {
						seen[s] = true
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		rows.Close()
	}
	for _, s := range mustSee {
		if !seen[s] {
			t.Errorf("the scan never saw %q: is it reading the right database?", s)
		}
	}
	return total
}

func asError(err error, target **client.Error) bool { return errors.As(err, target) }

// oneThread starts a hub (SQLite) with a patient p-1 and a staff member,
// both with keys, the team key granted to the staff member, and a thread.
func oneThread(t *testing.T) (c *client.Client, staffID string, patient, staff *person, th *client.Thread) {
	t.Helper()
	ctx := context.Background()
	h, c := startHub(t, hubtest.SQLite)
	staffID = addStaff(t, h, "mere@kowhai.example.nz", "Dr Mere Tane")
	patient = newPerson(t, "Aroha Ngata", "aroha@example.nz")
	staff = newPerson(t, "Dr Mere Tane", "mere@kowhai.example.nz")
	if _, _, err := c.PutPatient(ctx, "p-1", client.PatientInput{GivenName: "Aroha", Channels: []string{"portal"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutPatientKey(ctx, "p-1", patient.pub); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutStaffKey(ctx, staffID, staff.pub); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TeamInit(ctx, staffID, staff.entity); err != nil {
		t.Fatal(err)
	}
	th, err := c.CreateThread(ctx, "p-1", "")
	if err != nil {
		t.Fatal(err)
	}
	return c, staffID, patient, staff, th
}
