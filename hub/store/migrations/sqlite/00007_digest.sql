-- Digests: a notice planned while an earlier one to the same patient on
-- the same channel is still waiting out the practice's digest window
-- rides along in that delivery (digest_into names it) instead of being
-- sent on its own.

-- +goose Up
ALTER TABLE deliveries ADD COLUMN digest_into TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_digest_into ON deliveries (digest_into) WHERE digest_into <> '';

-- +goose Down
DROP INDEX deliveries_digest_into;
ALTER TABLE deliveries DROP COLUMN digest_into;
