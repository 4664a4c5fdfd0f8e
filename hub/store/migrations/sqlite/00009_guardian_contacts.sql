-- A guardian's number and address, beside the JSON, so that a guardian's
-- text (STOP, Y/N, a reply) or unsubscribe finds the patient.

-- +goose Up
ALTER TABLE patients ADD COLUMN guardian_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN guardian_email TEXT NOT NULL DEFAULT '';
CREATE INDEX patients_guardian_phone ON patients (practice_id, guardian_phone) WHERE guardian_phone <> '';
CREATE INDEX patients_guardian_email ON patients (practice_id, lower(guardian_email)) WHERE guardian_email <> '';

-- +goose Down
DROP INDEX patients_guardian_email;
DROP INDEX patients_guardian_phone;
ALTER TABLE patients DROP COLUMN guardian_email;
ALTER TABLE patients DROP COLUMN guardian_phone;
