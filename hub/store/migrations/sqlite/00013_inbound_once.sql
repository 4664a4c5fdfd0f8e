-- Inbound provider messages already acted on: the MessageSid of an SMS
-- keyword (STOP, START, HELP, Y/N), so that a replayed or retried webhook
-- changes nothing (a replayed START must not undo a later STOP). Kept for
-- good: Twilio's signature has no timestamp, so a captured request can be
-- replayed at any time. Replies are de-duplicated by messages.provider_id.
-- And the flag on replies whose sender address did not match the patient's
-- or guardian's.

-- +goose Up
CREATE TABLE inbound_seen (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    via         TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    received    TEXT NOT NULL,
    PRIMARY KEY (practice_id, via, provider_id)
) STRICT;
ALTER TABLE messages ADD COLUMN sender_unverified INTEGER NOT NULL DEFAULT 0 CHECK (sender_unverified IN (0, 1));

-- +goose Down
ALTER TABLE messages DROP COLUMN sender_unverified;
DROP TABLE inbound_seen;
