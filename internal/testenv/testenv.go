// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL schema per test and a Redis database number per package.
//
// Tests never skip when a service is missing: .ci/run starts PostgreSQL and
// Redis, and a test that cannot reach them fails with a message saying
// what to start.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgresURL is the machine's PostgreSQL (trust auth, database test).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultRedisAddr is the machine's Redis.
const DefaultRedisAddr = "127.0.0.1:6379"

// Redis database numbers, one per package that touches Redis, because
// Asynq's keys have fixed names and `go test ./...` runs packages in
// parallel.
const (
	RedisDBQueue     = 1
	RedisDBAPI       = 2
	RedisDBSMS       = 3
	RedisDBEmail     = 4
	RedisDBReminders = 5
	RedisDBHubd      = 6
	RedisDBInbox     = 7
	RedisDBBench     = 8
	RedisDBE2EE      = 9
	RedisDBClient    = 10
	RedisDBHub       = 11
	RedisDBApp       = 12
	RedisDBThrottle  = 13
	RedisDBIdentity  = 14
)

// PostgresURL returns the base PostgreSQL URL (KARERE_TEST_POSTGRES_URL
// overrides the default).
func PostgresURL() string {
	if u := os.Getenv("KARERE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// RedisAddr returns the Redis address (KARERE_TEST_REDIS_ADDR overrides).
func RedisAddr() string {
	if a := os.Getenv("KARERE_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return DefaultRedisAddr
}

// PostgresSchema creates a fresh schema, drops it when the test ends, and
// returns a URL whose connections use it (search_path).
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL()
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("testenv: open PostgreSQL %s: %v", base, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		tb.Fatalf("testenv: PostgreSQL is not reachable at %s (start it, or set KARERE_TEST_POSTGRES_URL): %v", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("testenv: create schema: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("testenv: parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redis returns a client on database db, flushed before the test, and
// fails the test when Redis cannot be reached.
func Redis(tb testing.TB, db int) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr(), DB: db})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("testenv: Redis is not reachable at %s (start it, or set KARERE_TEST_REDIS_ADDR): %v", RedisAddr(), err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// RedisURL returns a redis:// URL for database db.
func RedisURL(db int) string {
	return fmt.Sprintf("redis://%s/%d", RedisAddr(), db)
}
