-- Karere schema, PostgreSQL. Times are TIMESTAMPTZ (microseconds, UTC);
-- JSON columns are TEXT, as in SQLite, so both read the same way.
-- Keep in step with ../sqlite/00001_init.sql.

-- +goose Up
CREATE TABLE practices (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT '',
    phone     TEXT NOT NULL DEFAULT '',
    created   TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    mode        TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL,
    revoked     TIMESTAMPTZ
);
CREATE INDEX api_keys_practice ON api_keys (practice_id);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    practice_id   TEXT NOT NULL REFERENCES practices (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    created       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX staff_email ON staff (lower(email));
CREATE INDEX staff_practice ON staff (practice_id);

CREATE TABLE patients (
    id            TEXT PRIMARY KEY,
    practice_id   TEXT NOT NULL REFERENCES practices (id),
    external_id   TEXT NOT NULL,
    given_name    TEXT NOT NULL DEFAULT '',
    family_name   TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    channels      TEXT NOT NULL DEFAULT '[]',
    locale        TEXT NOT NULL DEFAULT '',
    date_of_birth TEXT NOT NULL DEFAULT '',
    guardian      TEXT,
    sms_opt_out   TIMESTAMPTZ,
    email_opt_out TIMESTAMPTZ,
    created       TIMESTAMPTZ NOT NULL,
    updated       TIMESTAMPTZ NOT NULL,
    UNIQUE (practice_id, external_id),
    UNIQUE (practice_id, id)
);
CREATE INDEX patients_phone ON patients (practice_id, phone);
CREATE INDEX patients_email ON patients (practice_id, lower(email));

CREATE TABLE notices (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    patient_id  TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    channels    TEXT NOT NULL DEFAULT '[]',
    mode        TEXT NOT NULL,
    created     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);
CREATE INDEX notices_patient ON notices (practice_id, patient_id);

CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    patient_id  TEXT NOT NULL,
    notice_id   TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    provider_id TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    fallbacks   TEXT NOT NULL DEFAULT '[]',
    not_before  TIMESTAMPTZ,
    created     TIMESTAMPTZ NOT NULL,
    updated     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);
CREATE INDEX deliveries_patient ON deliveries (practice_id, patient_id);
CREATE INDEX deliveries_notice ON deliveries (practice_id, notice_id);
CREATE INDEX deliveries_state ON deliveries (state, id);
CREATE INDEX deliveries_provider ON deliveries (channel, provider_id);

CREATE TABLE inbox_items (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    patient_id  TEXT NOT NULL,
    delivery_id TEXT UNIQUE,
    kind        TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    thread_id   TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL,
    read_at     TIMESTAMPTZ,
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);
CREATE INDEX inbox_items_patient ON inbox_items (practice_id, patient_id, created);

CREATE TABLE outbox_items (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    delivery_id TEXT UNIQUE,
    channel     TEXT NOT NULL,
    to_addr     TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_items_practice ON outbox_items (practice_id, created);
CREATE INDEX outbox_items_created ON outbox_items (created);

CREATE TABLE idempotency_keys (
    practice_id  TEXT NOT NULL REFERENCES practices (id),
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BYTEA,
    created      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (practice_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    patient_id  TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_events_patient ON audit_events (practice_id, patient_id, at);
CREATE INDEX audit_events_practice ON audit_events (practice_id, at);

CREATE TABLE settings (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    kind        TEXT NOT NULL,
    value       BYTEA NOT NULL,
    updated     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (practice_id, kind)
);

-- +goose Down
DROP TABLE settings;
DROP TABLE audit_events;
DROP TABLE idempotency_keys;
DROP TABLE outbox_items;
DROP TABLE inbox_items;
DROP TABLE deliveries;
DROP TABLE notices;
DROP TABLE patients;
DROP TABLE staff;
DROP TABLE api_keys;
DROP TABLE practices;
