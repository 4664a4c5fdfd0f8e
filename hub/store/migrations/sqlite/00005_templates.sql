-- Practice templates, kept as numbered versions, and the version each
-- delivery was rendered from. SQLite; keep in step with
-- ../postgres/00005_templates.sql.

-- +goose Up
CREATE TABLE templates (
    id          TEXT PRIMARY KEY,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    locale      TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    html        TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL CHECK (version > 0),
    created     TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    -- Also the index for the current-version and history lookups.
    UNIQUE (practice_id, kind, channel, locale, version)
) STRICT;

-- 0: rendered from a built-in default (or not rendered yet).
ALTER TABLE deliveries ADD COLUMN template_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN template_version;
DROP TABLE templates;
