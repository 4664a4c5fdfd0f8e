-- Appointments, their reminders, outgoing webhook events, and the facts of
-- templated notices. Keep in step with ../postgres/00003_reminders.sql.

-- +goose Up
ALTER TABLE notices ADD COLUMN data TEXT;

CREATE TABLE appointments (
    id               TEXT PRIMARY KEY,
    practice_id      TEXT NOT NULL REFERENCES practices (id),
    external_id      TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    start_at         TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    clinician        TEXT NOT NULL DEFAULT '',
    location         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    confirmation     TEXT NOT NULL DEFAULT 'none',
    confirmation_at  TEXT,
    version          INTEGER NOT NULL,
    mode             TEXT NOT NULL,
    created          TEXT NOT NULL,
    updated          TEXT NOT NULL,
    UNIQUE (practice_id, external_id),
    UNIQUE (practice_id, id),
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
) STRICT;

CREATE TABLE reminders (
    id                TEXT PRIMARY KEY,
    practice_id       TEXT NOT NULL REFERENCES practices (id),
    appointment_id    TEXT NOT NULL,
    patient_id        TEXT NOT NULL,
    offset_seconds    INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    fire_at           TEXT NOT NULL,
    state             TEXT NOT NULL,
    asks_confirmation INTEGER NOT NULL DEFAULT 0 CHECK (asks_confirmation IN (0, 1)),
    notice_id         TEXT NOT NULL DEFAULT '',
    delivery_id       TEXT NOT NULL DEFAULT '',
    note              TEXT NOT NULL DEFAULT '',
    sent_at           TEXT,
    created           TEXT NOT NULL,
    updated           TEXT NOT NULL,
    FOREIGN KEY (practice_id, appointment_id) REFERENCES appointments (practice_id, id),
    FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
) STRICT;
CREATE INDEX reminders_appointment ON reminders (practice_id, appointment_id);
CREATE INDEX reminders_due ON reminders (state, fire_at, id);
CREATE INDEX reminders_patient_sent ON reminders (practice_id, patient_id, sent_at);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    type        TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_events_practice ON webhook_events (practice_id, id);
CREATE INDEX webhook_events_state ON webhook_events (state, id);

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE reminders;
DROP TABLE appointments;
ALTER TABLE notices DROP COLUMN data;
