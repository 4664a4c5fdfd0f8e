// Package store is Karere's one SQL store: it satisfies the store port of every
// hub subdomain (internal/app checks each at compile time). A database/sql implementation
// over SQLite (modernc.org/sqlite, the embedded default) and PostgreSQL
// (pgx, for production and scale-out).
//
// # Opening
//
// Open takes a URL. postgres://... or postgresql://... connects with pgx;
// a search_path query parameter is sent as a run-time parameter, so one
// database can hold a schema per deployment (tests use one per test).
// sqlite:PATH opens a file with WAL, foreign keys, a 10 s busy timeout and
// _txlock=immediate: every write transaction takes the write lock at
// BEGIN, so concurrent writers wait their turn instead of failing when a
// reader upgrades. sqlite::memory: gives a private in-memory database on
// a single connection (for tests; inside Tx, use only the Store passed to
// fn or the call waits for the connection forever). Migrate applies the embedded goose migrations
// (migrations/sqlite and migrations/postgres, same versions); in
// PostgreSQL under an advisory lock per schema, so hubd processes can
// start together.
//
// # Dialects
//
// Queries are written once, with ? placeholders and SQL both databases
// accept: ON CONFLICT, RETURNING, lower(). The dialect type holds the few
// differences: placeholders ($1... for PostgreSQL), how times are bound
// and read, and which driver error is a unique violation. Times are stored
// in UTC truncated to the microsecond: TIMESTAMPTZ in PostgreSQL, fixed
// width TEXT (2006-01-02T15:04:05.000000Z) in SQLite, which compares
// correctly as a string. Lists (channels, fallbacks) and the guardian are
// JSON in TEXT columns; an empty list reads back as nil.
//
// # Tenancy
//
// Every practice-scoped method filters by practice_id, so a record of
// another practice reads as hub.ErrNoRows. Rows that point at a patient
// carry a foreign key on (practice_id, patient_id), so a notice, delivery,
// inbox item or thread cannot name another practice's patient; likewise a
// message's thread and a team grant's key are the practice's own.
//
// # Errors
//
// A missing row is hub.ErrNoRows and a unique violation hub.ErrConflict,
// both wrapped with the operation's name (test with errors.Is). Driver
// messages name tables and constraints, never values; the store logs
// nothing.
//
// # Transactions
//
// Tx passes fn a Store bound to the transaction; Tx on that Store runs in
// the same transaction. ClaimIdempotencyKey relies on it: in PostgreSQL a
// second claim of a key blocks in its INSERT until the first transaction
// ends; in SQLite the second transaction waits at BEGIN. Either way it then
// reads the first call's saved response. In PostgreSQL a failed statement
// aborts the whole transaction, so return its error from fn.
//
// # Defaults
//
// Create methods fill an empty ID (hub.NewID with the type's prefix) and a
// zero Created, and set the normalised values on the record passed in.
// Lists default to DefaultLimit rows and never return more than MaxLimit.
package store
