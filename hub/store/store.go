package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/karerehub/karere/hub"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// List limits.
const (
	// DefaultLimit is the page size when a caller passes 0.
	DefaultLimit = 50
	// MaxLimit caps every page so that one call cannot read a whole table.
	MaxLimit = 500
)

// Store is the SQL store: it satisfies every subdomain's store port
// (internal/app checks each at compile time). A Store made by Open is safe
// for concurrent use. A transaction travels in a context (InTx): every
// method called with that context runs in it. The Store that Tx passes to
// its function is bound to the transaction and lives only while the
// function runs.
type Store struct {
	db *sql.DB
	d  dialect
	tx *sql.Tx // set on a Store bound to a transaction (Tx)
}

var _ hub.Transactor = (*Store)(nil)

// txKey finds a Store's transaction in a context; the db pointer keeps two
// stores (two databases) apart.
type txKey struct{ db *sql.DB }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open connects to the database at url: postgres://... or
// postgresql://... (a search_path query parameter selects the schema), or
// sqlite:PATH (sqlite::memory: for a private in-memory database). It does
// not migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	d, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		// The URL may hold a password: never put it in the error.
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	d.configurePool(db, dsn)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d.name, err)
	}
	return &Store{db: db, d: d}, nil
}

// Close closes the database. It does nothing on a transaction's Store.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	return s.db.Close()
}

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	return s.d.wrap("ping", s.db.PingContext(ctx))
}

// InTx runs fn in one transaction carried by the context it passes: every
// method called with that context (or one derived from it) runs in the
// transaction. It commits when fn returns nil and rolls back when fn
// returns an error or panics. With a context that carries a transaction
// already, fn runs in that transaction (the outermost call commits).
//
// In SQLite, transactions begin IMMEDIATE: a second writer waits at InTx
// until the first commits. In PostgreSQL a statement that fails (a
// conflict, say) aborts the transaction; return its error.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if s.tx != nil {
		return fn(context.WithValue(ctx, txKey{s.db}, s.tx))
	}
	if _, ok := ctx.Value(txKey{s.db}).(*sql.Tx); ok {
		return fn(ctx)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.d.wrap("begin", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{s.db}, tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		committed = true // a failed Commit has ended the transaction too
		return s.d.wrap("commit", err)
	}
	committed = true
	return nil
}

// Tx runs fn in one transaction, as InTx does, with a Store bound to it.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := ctx.Value(txKey{s.db}).(*sql.Tx)
		return fn(&Store{db: s.db, d: s.d, tx: tx})
	})
}

// conn is what a statement runs on: the Store's own transaction, the one
// ctx carries, or the pool.
func (s *Store) conn(ctx context.Context) querier {
	if s.tx != nil {
		return s.tx
	}
	if tx, ok := ctx.Value(txKey{s.db}).(*sql.Tx); ok {
		return tx
	}
	return s.db
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.conn(ctx).ExecContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn(ctx).QueryContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn(ctx).QueryRowContext(ctx, s.d.rebind(query), args...)
}

// execOne runs a statement that must change exactly one row; none is
// hub.ErrNoRows.
func (s *Store) execOne(ctx context.Context, op, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return s.d.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.d.wrap(op, err)
	}
	if n == 0 {
		return s.d.wrap(op, sql.ErrNoRows)
	}
	return nil
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, s *Store, op string, scan func(sc scanner, v *T) error, query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.d.wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, s.d.wrap(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(op, err)
	}
	return out, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// clampLimit applies DefaultLimit and MaxLimit.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// orNow returns t, or the current time when t is zero, normalised as the
// database stores it.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return normTime(t)
}

// orNewID returns id, or a new id with the prefix when id is empty.
func orNewID(id, prefix string) string {
	if id == "" {
		return hub.NewID(prefix)
	}
	return id
}

// errNeedPractice is returned by queries that must be confined to one
// practice when given none.
var errNeedPractice = errors.New("store: a practice id is required")

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// errClaimRace is returned when an idempotency key keeps vanishing between
// insert and read (a cleanup running in a tight loop).
var errClaimRace = errors.New("store: idempotency key deleted while claiming")
