package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/karerehub/karere/hub"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names, as returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// SQLite connection settings.
const (
	// sqliteBusyTimeout is how long a writer waits for another's lock
	// before SQLITE_BUSY. Writers hold the lock for one short transaction.
	sqliteBusyTimeout = 10 * time.Second
	// sqliteMaxConns bounds the pool. WAL lets readers run beside the one
	// writer; more connections would only queue on the write lock.
	sqliteMaxConns = 8
)

// postgresMaxConns bounds one process's connections: enough for the API
// and the default 20 workers at once, and four processes stay under
// PostgreSQL's default max_connections of 100.
const postgresMaxConns = 24

// sqliteTimeLayout is fixed-width so that stored times compare as strings.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// dialect holds every difference between SQLite and PostgreSQL that the
// queries see. Queries are written once with ? placeholders and the SQL
// both databases accept (ON CONFLICT, RETURNING, lower()).
type dialect struct {
	name   string // DialectSQLite or DialectPostgres
	driver string // database/sql driver name
	goose  goose.Dialect
}

// parseURL picks the dialect for a database URL and returns the driver's
// data source name.
func parseURL(url string) (dialect, string, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return dialect{name: DialectPostgres, driver: "pgx", goose: goose.DialectPostgres}, url, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			path = rest // sqlite:///var/lib/karere.db
		}
		if path == "" {
			return dialect{}, "", errors.New("store: sqlite URL has no path (want sqlite:/path/to/karere.db)")
		}
		return dialect{name: DialectSQLite, driver: "sqlite", goose: goose.DialectSQLite3}, sqliteDSN(path), nil
	}
	return dialect{}, "", errors.New("store: unsupported database URL (want postgres://... or sqlite:PATH)")
}

// sqliteDSN adds the connection settings to a path: WAL, foreign keys, a
// busy timeout, and BEGIN IMMEDIATE so that concurrent write transactions
// queue for the lock at BEGIN instead of failing when a reader upgrades.
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_txlock=immediate" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)"
}

// configurePool sizes the connection pool. An in-memory SQLite database
// lives in its connection, so it gets exactly one, kept open.
func (d dialect) configurePool(db *sql.DB, dsn string) {
	switch {
	case d.name == DialectSQLite && strings.HasPrefix(dsn, ":memory:"):
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	case d.name == DialectSQLite:
		db.SetMaxOpenConns(sqliteMaxConns)
		db.SetMaxIdleConns(sqliteMaxConns)
	default:
		// Keep as many idle as may be open: a pool that closes
		// connections it will need a moment later pays PostgreSQL's
		// per-connection fork again and again under load.
		db.SetMaxOpenConns(postgresMaxConns)
		db.SetMaxIdleConns(postgresMaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
}

// rebind turns ? placeholders into $1, $2... for PostgreSQL. Queries in
// this package never hold a ? inside a string literal.
func (d dialect) rebind(q string) string {
	if d.name != DialectPostgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// normTime is how a time is stored: UTC, truncated to the microsecond
// (PostgreSQL's precision), so that both databases round-trip the same
// value.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// time encodes a time for a NOT NULL column.
func (d dialect) time(t time.Time) any {
	t = normTime(t)
	if d.name == DialectSQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// timeOrNull encodes a time whose zero value means "none" (NULL).
func (d dialect) timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.time(t)
}

// timePtr encodes an optional time.
func (d dialect) timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.time(*t)
}

// isUnique reports whether err is a unique or primary key violation.
func (d dialect) isUnique(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// wrap maps a database error to the hub's: no rows to hub.ErrNoRows, a
// unique violation to hub.ErrConflict (the driver's error stays in the
// chain). op names the operation. Driver messages name tables and
// constraints, never values.
func (d dialect) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s: %w", op, hub.ErrNoRows)
	case d.isUnique(err):
		return fmt.Errorf("store: %s: %w (%w)", op, hub.ErrConflict, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
