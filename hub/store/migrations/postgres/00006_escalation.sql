-- Escalation: a delivery planned on the patient's next channel, to go out
-- only if the portal item of escalates_from is still unread by then.

-- +goose Up
ALTER TABLE deliveries ADD COLUMN escalates_from TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_escalates_from ON deliveries (escalates_from) WHERE escalates_from <> '';

-- +goose Down
DROP INDEX deliveries_escalates_from;
ALTER TABLE deliveries DROP COLUMN escalates_from;
