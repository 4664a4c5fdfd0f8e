package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/karerehub/karere/hub"
)

const patientCols = `id, practice_id, external_id, given_name, family_name, phone, email, channels,
	locale, date_of_birth, guardian, encrypted_email, sms_opt_out, email_opt_out, created, updated, kind_opt_outs`

func scanPatient(sc scanner, p *hub.Patient) error {
	err := sc.Scan(&p.ID, &p.PracticeID, &p.ExternalID, &p.GivenName, &p.FamilyName, &p.Phone, &p.Email,
		stringsCol{&p.Channels}, &p.Locale, &p.DateOfBirth, jsonCol{&p.Guardian}, &p.EncryptedEmail,
		timePtrCol{&p.SMSOptOut}, timePtrCol{&p.EmailOptOut}, timeCol{&p.Created}, timeCol{&p.Updated},
		jsonCol{&p.KindOptOuts})
	if len(p.KindOptOuts) == 0 {
		p.KindOptOuts = nil
	}
	return err
}

// PutPatient inserts or replaces a patient by (PracticeID, ExternalID),
// keeping the ID and Created of an existing row and setting both on p.
// Every other field, opt-outs included, is written as given. An empty ID
// and zero Created and Updated are filled in.
//
// It runs as two statements that cannot fail on a concurrent put: an
// insert that does nothing on conflict, then, when nothing was inserted,
// an update of the existing row.
func (s *Store) PutPatient(ctx context.Context, p *hub.Patient) (created bool, err error) {
	const op = "put patient"
	guardian, err := jsonOrNull(p.Guardian)
	if err != nil {
		return false, fmt.Errorf("store: %s: guardian: %w", op, err)
	}
	var gPhone, gEmail string
	if p.Guardian != nil {
		gPhone, gEmail = p.Guardian.Phone, p.Guardian.Email
	}
	kindOptOuts, err := json.Marshal(orEmptyMap(p.KindOptOuts))
	if err != nil {
		return false, fmt.Errorf("store: %s: kind opt-outs: %w", op, err)
	}
	id := orNewID(p.ID, hub.PrefixPatient)
	now := orNow(p.Updated)
	createdAt := p.Created
	if createdAt.IsZero() {
		createdAt = now
	}
	createdAt = normTime(createdAt)

	var gotID string
	var gotCreated = createdAt
	err = s.queryRow(ctx, `INSERT INTO patients (`+patientCols+`, guardian_phone, guardian_email)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (practice_id, external_id) DO NOTHING
		RETURNING id`,
		id, p.PracticeID, p.ExternalID, p.GivenName, p.FamilyName, p.Phone, p.Email, jsonStrings(p.Channels),
		p.Locale, p.DateOfBirth, guardian, p.EncryptedEmail, s.d.timePtr(p.SMSOptOut), s.d.timePtr(p.EmailOptOut),
		s.d.time(createdAt), s.d.time(now), string(kindOptOuts), gPhone, gEmail).Scan(&gotID)
	switch {
	case err == nil:
		created = true
	case isNoRows(err):
		err = s.queryRow(ctx, `UPDATE patients SET given_name = ?, family_name = ?, phone = ?, email = ?,
			channels = ?, locale = ?, date_of_birth = ?, guardian = ?, encrypted_email = ?, sms_opt_out = ?,
			email_opt_out = ?, updated = ?, kind_opt_outs = ?, guardian_phone = ?, guardian_email = ?
			WHERE practice_id = ? AND external_id = ?
			RETURNING id, created`,
			p.GivenName, p.FamilyName, p.Phone, p.Email, jsonStrings(p.Channels), p.Locale, p.DateOfBirth,
			guardian, p.EncryptedEmail, s.d.timePtr(p.SMSOptOut), s.d.timePtr(p.EmailOptOut), s.d.time(now),
			string(kindOptOuts), gPhone, gEmail, p.PracticeID, p.ExternalID).Scan(&gotID, timeCol{&gotCreated})
		if err != nil {
			return false, s.d.wrap(op, err)
		}
	default:
		return false, s.d.wrap(op, err)
	}
	p.ID, p.Created, p.Updated = gotID, gotCreated, now
	return created, nil
}

// GetPatient reads a patient by the practice's external id.
func (s *Store) GetPatient(ctx context.Context, practiceID, externalID string) (*hub.Patient, error) {
	var p hub.Patient
	err := scanPatient(s.queryRow(ctx, `SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND external_id = ?`,
		practiceID, externalID), &p)
	if err != nil {
		return nil, s.d.wrap("get patient", err)
	}
	return &p, nil
}

// GetPatientByID reads a patient by Karere's id.
func (s *Store) GetPatientByID(ctx context.Context, practiceID, id string) (*hub.Patient, error) {
	var p hub.Patient
	err := scanPatient(s.queryRow(ctx, `SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND id = ?`,
		practiceID, id), &p)
	if err != nil {
		return nil, s.d.wrap("get patient", err)
	}
	return &p, nil
}

// FindPatientsByPhone lists a practice's patients with this E.164 number,
// their own or their guardian's.
func (s *Store) FindPatientsByPhone(ctx context.Context, practiceID, phone string) ([]hub.Patient, error) {
	if phone == "" {
		return nil, nil
	}
	return list(ctx, s, "find patients by phone", scanPatient,
		`SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND (phone = ? OR guardian_phone = ?) ORDER BY id`,
		practiceID, phone, phone)
}

// FindPatientsByEmail lists a practice's patients with this address,
// their own or their guardian's (case-insensitive).
func (s *Store) FindPatientsByEmail(ctx context.Context, practiceID, email string) ([]hub.Patient, error) {
	if email == "" {
		return nil, nil
	}
	return list(ctx, s, "find patients by email", scanPatient,
		`SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND (lower(email) = lower(?) OR lower(guardian_email) = lower(?))
		ORDER BY id`, practiceID, email, email)
}

func orEmptyMap(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}
