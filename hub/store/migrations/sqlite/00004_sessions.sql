-- Staff web inbox: sessions (only a SHA-256 of each token), sign-in
-- throttling and TOTP second factors. SQLite; keep in step with
-- ../postgres/00004_sessions.sql. Booleans are INTEGER 0/1.

-- +goose Up
CREATE TABLE staff_sessions (
    token_hash  BLOB PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    staff_id    TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    mfa_pending INTEGER NOT NULL DEFAULT 0 CHECK (mfa_pending IN (0, 1)),
    source      TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    last_seen   TEXT NOT NULL
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (practice_id, staff_id);
CREATE INDEX staff_sessions_last_seen ON staff_sessions (last_seen);
CREATE INDEX staff_sessions_created ON staff_sessions (created);

CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    first_at     TEXT NOT NULL,
    locked_until TEXT
) STRICT;

CREATE TABLE staff_totp (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    staff_id    TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    secret      BLOB NOT NULL,
    confirmed   TEXT,
    last_step   INTEGER NOT NULL DEFAULT 0,
    created     TEXT NOT NULL,
    PRIMARY KEY (practice_id, staff_id)
) STRICT;

-- +goose Down
DROP TABLE staff_totp;
DROP TABLE login_throttle;
DROP TABLE staff_sessions;
