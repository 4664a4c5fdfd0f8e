package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

const appointmentCols = `id, practice_id, external_id, patient_id, start_at, duration_minutes, clinician, location,
	status, confirmation, confirmation_at, version, mode, created, updated`

func scanAppointment(sc scanner, a *hub.Appointment) error {
	var mode string
	err := sc.Scan(&a.ID, &a.PracticeID, &a.ExternalID, &a.PatientID, timeCol{&a.Start}, &a.DurationMinutes,
		&a.Clinician, &a.Location, &a.Status, &a.Confirmation, timePtrCol{&a.ConfirmationAt}, &a.Version, &mode,
		timeCol{&a.Created}, timeCol{&a.Updated})
	a.Mode = hub.KeyMode(mode)
	return err
}

// CreateAppointment inserts a. An empty ID, Confirmation (none) and zero
// Created and Updated are filled in.
func (s *Store) CreateAppointment(ctx context.Context, a *hub.Appointment) error {
	a.ID = orNewID(a.ID, hub.PrefixAppointment)
	a.Created = orNow(a.Created)
	if a.Updated.IsZero() {
		a.Updated = a.Created
	}
	a.Updated = normTime(a.Updated)
	if a.Confirmation == "" {
		a.Confirmation = hub.ConfirmationNone
	}
	_, err := s.exec(ctx, `INSERT INTO appointments (`+appointmentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.PracticeID, a.ExternalID, a.PatientID, s.d.time(a.Start), a.DurationMinutes, a.Clinician, a.Location,
		a.Status, a.Confirmation, s.d.timePtr(a.ConfirmationAt), a.Version, string(a.Mode),
		s.d.time(a.Created), s.d.time(a.Updated))
	return s.d.wrap("create appointment", err)
}

// UpdateAppointment writes a's mutable fields when the stored version is
// still prevVersion. A zero Updated is set to now.
func (s *Store) UpdateAppointment(ctx context.Context, a *hub.Appointment, prevVersion int) error {
	a.Updated = orNow(a.Updated)
	return s.execOne(ctx, "update appointment", `UPDATE appointments
		SET patient_id = ?, start_at = ?, duration_minutes = ?, clinician = ?, location = ?, status = ?,
			confirmation = ?, confirmation_at = ?, version = ?, updated = ?
		WHERE practice_id = ? AND id = ? AND version = ?`,
		a.PatientID, s.d.time(a.Start), a.DurationMinutes, a.Clinician, a.Location, a.Status,
		a.Confirmation, s.d.timePtr(a.ConfirmationAt), a.Version, s.d.time(a.Updated),
		a.PracticeID, a.ID, prevVersion)
}

// GetAppointment reads a practice's appointment by external id.
func (s *Store) GetAppointment(ctx context.Context, practiceID, externalID string) (*hub.Appointment, error) {
	var a hub.Appointment
	err := scanAppointment(s.queryRow(ctx, `SELECT `+appointmentCols+` FROM appointments
		WHERE practice_id = ? AND external_id = ?`, practiceID, externalID), &a)
	if err != nil {
		return nil, s.d.wrap("get appointment", err)
	}
	return &a, nil
}

// GetAppointmentByID reads an appointment; practiceID "" reads any
// practice's.
func (s *Store) GetAppointmentByID(ctx context.Context, practiceID, id string) (*hub.Appointment, error) {
	q := `SELECT ` + appointmentCols + ` FROM appointments WHERE id = ?`
	args := []any{id}
	if practiceID != "" {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var a hub.Appointment
	if err := scanAppointment(s.queryRow(ctx, q, args...), &a); err != nil {
		return nil, s.d.wrap("get appointment", err)
	}
	return &a, nil
}

const reminderCols = `id, practice_id, appointment_id, patient_id, offset_seconds, version, fire_at, state,
	asks_confirmation, notice_id, delivery_id, note, sent_at, created, updated`

func scanReminder(sc scanner, r *hub.Reminder) error {
	var secs int64
	err := sc.Scan(&r.ID, &r.PracticeID, &r.AppointmentID, &r.PatientID, &secs, &r.Version, timeCol{&r.FireAt},
		&r.State, &r.AsksConfirmation, &r.NoticeID, &r.DeliveryID, &r.Note, timePtrCol{&r.SentAt},
		timeCol{&r.Created}, timeCol{&r.Updated})
	r.Offset = time.Duration(secs) * time.Second
	return err
}

// CreateReminder inserts r. An empty State (scheduled) and zero Created
// and Updated are filled in. Offsets are stored in whole seconds.
func (s *Store) CreateReminder(ctx context.Context, r *hub.Reminder) error {
	r.Created = orNow(r.Created)
	if r.Updated.IsZero() {
		r.Updated = r.Created
	}
	r.Updated = normTime(r.Updated)
	if r.State == "" {
		r.State = hub.ReminderScheduled
	}
	_, err := s.exec(ctx, `INSERT INTO reminders (`+reminderCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.PracticeID, r.AppointmentID, r.PatientID, int64(r.Offset/time.Second), r.Version, s.d.time(r.FireAt),
		r.State, r.AsksConfirmation, r.NoticeID, r.DeliveryID, r.Note, s.d.timePtr(r.SentAt),
		s.d.time(r.Created), s.d.time(r.Updated))
	return s.d.wrap("create reminder", err)
}

// GetReminder reads a reminder; practiceID "" reads any practice's.
func (s *Store) GetReminder(ctx context.Context, practiceID, id string) (*hub.Reminder, error) {
	q := `SELECT ` + reminderCols + ` FROM reminders WHERE id = ?`
	args := []any{id}
	if practiceID != "" {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var r hub.Reminder
	if err := scanReminder(s.queryRow(ctx, q, args...), &r); err != nil {
		return nil, s.d.wrap("get reminder", err)
	}
	return &r, nil
}

// UpdateReminder writes State, NoticeID, DeliveryID, Note, SentAt and
// Updated of the reminder with r's ID and PracticeID, if its state is
// still fromState.
func (s *Store) UpdateReminder(ctx context.Context, r *hub.Reminder, fromState string) error {
	r.Updated = orNow(r.Updated)
	return s.execOne(ctx, "update reminder", `UPDATE reminders
		SET state = ?, notice_id = ?, delivery_id = ?, note = ?, sent_at = ?, updated = ?
		WHERE practice_id = ? AND id = ? AND state = ?`,
		r.State, r.NoticeID, r.DeliveryID, r.Note, s.d.timePtr(r.SentAt), s.d.time(r.Updated), r.PracticeID, r.ID, fromState)
}

// ListReminders lists an appointment's reminders by fire time.
func (s *Store) ListReminders(ctx context.Context, practiceID, appointmentID string) ([]hub.Reminder, error) {
	const op = "list reminders"
	if practiceID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	return list(ctx, s, op, scanReminder, `SELECT `+reminderCols+` FROM reminders
		WHERE practice_id = ? AND appointment_id = ? ORDER BY fire_at, id LIMIT ?`, practiceID, appointmentID, MaxLimit)
}

// ListScheduledReminders pages through scheduled reminders firing in
// [from, to), ordered by id.
func (s *Store) ListScheduledReminders(ctx context.Context, from, to time.Time, afterID string, limit int) ([]hub.Reminder, error) {
	return list(ctx, s, "list scheduled reminders", scanReminder, `SELECT `+reminderCols+` FROM reminders
		WHERE state = ? AND fire_at >= ? AND fire_at < ? AND id > ? ORDER BY id LIMIT ?`,
		hub.ReminderScheduled, s.d.time(from), s.d.time(to), afterID, clampLimit(limit))
}

// LatestConfirmableReminder finds the reminder a Y/N reply answers.
func (s *Store) LatestConfirmableReminder(ctx context.Context, practiceID string, patientIDs []string, now time.Time) (*hub.Reminder, error) {
	const op = "latest confirmable reminder"
	if practiceID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	if len(patientIDs) == 0 {
		return nil, s.d.wrap(op, sql.ErrNoRows)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(patientIDs)), ", ")
	args := []any{practiceID}
	for _, id := range patientIDs {
		args = append(args, id)
	}
	args = append(args, hub.ReminderSent, hub.AppointmentBooked, s.d.time(now))
	cols := "r." + strings.ReplaceAll(strings.Join(strings.Fields(reminderCols), " "), ", ", ", r.")
	var r hub.Reminder
	err := scanReminder(s.queryRow(ctx, `SELECT `+cols+` FROM reminders r
		JOIN appointments a ON a.practice_id = r.practice_id AND a.id = r.appointment_id
		WHERE r.practice_id = ? AND r.patient_id IN (`+marks+`) AND r.state = ? AND r.asks_confirmation
			AND r.version = a.version AND a.status = ? AND a.start_at > ?
		ORDER BY r.sent_at DESC, r.id DESC LIMIT 1`, args...), &r)
	if err != nil {
		return nil, s.d.wrap(op, err)
	}
	return &r, nil
}
