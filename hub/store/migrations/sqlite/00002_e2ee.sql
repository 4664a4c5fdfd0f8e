-- End-to-end encryption: the key directory, locked private keys, team key
-- grants, secure threads and their messages. SQLite; keep in step with
-- ../postgres/00002_e2ee.sql. Booleans are INTEGER 0/1.

-- +goose Up
ALTER TABLE patients ADD COLUMN encrypted_email INTEGER NOT NULL DEFAULT 0 CHECK (encrypted_email IN (0, 1));

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    owner_kind  TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    algorithm   TEXT NOT NULL DEFAULT '',
    armored     BLOB NOT NULL,
    created     TEXT NOT NULL,
    superseded  TEXT,
    UNIQUE (practice_id, owner_kind, owner_id, fingerprint),
    UNIQUE (practice_id, id)
) STRICT;
-- At most one current key per owner; also the current-key lookup.
CREATE UNIQUE INDEX keys_current ON keys (practice_id, owner_kind, owner_id) WHERE superseded IS NULL;

CREATE TABLE locked_keys (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    owner_kind  TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    armored     BLOB NOT NULL,
    updated     TEXT NOT NULL,
    PRIMARY KEY (practice_id, owner_kind, owner_id)
) STRICT;

CREATE TABLE team_grants (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    staff_id    TEXT NOT NULL,
    team_key_id TEXT NOT NULL,
    message     BLOB NOT NULL,
    granted_by  TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    PRIMARY KEY (practice_id, staff_id, team_key_id),
    FOREIGN KEY (practice_id, team_key_id) REFERENCES keys (practice_id, id)
) STRICT;
CREATE INDEX team_grants_key ON team_grants (practice_id, team_key_id);

CREATE TABLE threads (
    id             TEXT PRIMARY KEY,
    practice_id    TEXT NOT NULL REFERENCES practices (id),
    patient_id     TEXT NOT NULL,
    category       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    assigned_to    TEXT NOT NULL DEFAULT '',
    created        TEXT NOT NULL,
    last_activity  TEXT NOT NULL,
    last_sender    TEXT NOT NULL DEFAULT '',
    staff_unread   INTEGER NOT NULL DEFAULT 0,
    patient_unread INTEGER NOT NULL DEFAULT 0,
    last_notice_at TEXT,
    UNIQUE (practice_id, id),
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
) STRICT;
CREATE INDEX threads_activity ON threads (practice_id, last_activity DESC, id DESC);
CREATE INDEX threads_patient ON threads (practice_id, patient_id, status, last_activity);

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY,
    practice_id         TEXT NOT NULL REFERENCES practices (id),
    thread_id           TEXT NOT NULL,
    sender_kind         TEXT NOT NULL,
    sender_id           TEXT NOT NULL DEFAULT '',
    ciphertext          BLOB NOT NULL,
    size                INTEGER NOT NULL DEFAULT 0,
    via                 TEXT NOT NULL DEFAULT '',
    arrived_unencrypted INTEGER NOT NULL DEFAULT 0 CHECK (arrived_unencrypted IN (0, 1)),
    provider_id         TEXT NOT NULL DEFAULT '',
    created             TEXT NOT NULL,
    FOREIGN KEY (practice_id, thread_id) REFERENCES threads (practice_id, id)
) STRICT;
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE UNIQUE INDEX messages_provider ON messages (practice_id, via, provider_id) WHERE provider_id <> '';

-- +goose Down
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE team_grants;
DROP TABLE locked_keys;
DROP TABLE keys;
ALTER TABLE patients DROP COLUMN encrypted_email;
