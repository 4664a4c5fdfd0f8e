-- Sign-in attempts are counted in Redis (internal/throttle), shared by every
-- hubd process and counted before the password is checked; the table that
-- counted failures afterwards goes.

-- +goose Up
DROP TABLE login_throttle;

-- +goose Down
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    first_at     TEXT NOT NULL,
    locked_until TEXT
) STRICT;
