-- Per-kind opt-outs: {"prescription_ready": ["sms"], ...} — the channels a
-- patient does not want each kind of notice on.

-- +goose Up
ALTER TABLE patients ADD COLUMN kind_opt_outs TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE patients DROP COLUMN kind_opt_outs;
