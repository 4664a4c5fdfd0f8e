-- Staff web inbox: sessions (only a SHA-256 of each token), sign-in
-- throttling and TOTP second factors. PostgreSQL; keep in step with
-- ../sqlite/00004_sessions.sql.

-- +goose Up
CREATE TABLE staff_sessions (
    token_hash  BYTEA PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    staff_id    TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    mfa_pending BOOLEAN NOT NULL DEFAULT false,
    source      TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (practice_id, staff_id);
CREATE INDEX staff_sessions_last_seen ON staff_sessions (last_seen);
CREATE INDEX staff_sessions_created ON staff_sessions (created);

CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    first_at     TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

CREATE TABLE staff_totp (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    staff_id    TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    secret      BYTEA NOT NULL,
    confirmed   TIMESTAMPTZ,
    last_step   BIGINT NOT NULL DEFAULT 0,
    created     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (practice_id, staff_id)
);

-- +goose Down
DROP TABLE staff_totp;
DROP TABLE login_throttle;
DROP TABLE staff_sessions;
