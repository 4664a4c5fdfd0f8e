package store

import (
	"context"
	"strings"

	"github.com/karerehub/karere/hub"
)

const threadCols = `id, practice_id, patient_id, category, status, assigned_to, created, last_activity,
	last_sender, staff_unread, patient_unread, last_notice_at`

func scanThread(sc scanner, t *hub.Thread) error {
	return sc.Scan(&t.ID, &t.PracticeID, &t.PatientID, &t.Category, &t.Status, &t.AssignedTo,
		timeCol{&t.Created}, timeCol{&t.LastActivity}, &t.LastSender, &t.StaffUnread, &t.PatientUnread,
		timePtrCol{&t.LastNoticeAt})
}

// CreateThread inserts t. An empty ID, an empty Status (open), a zero
// Created and a zero LastActivity (Created) are filled in. The patient
// must be the practice's.
func (s *Store) CreateThread(ctx context.Context, t *hub.Thread) error {
	t.ID = orNewID(t.ID, hub.PrefixThread)
	t.Created = orNow(t.Created)
	if t.LastActivity.IsZero() {
		t.LastActivity = t.Created
	}
	t.LastActivity = normTime(t.LastActivity)
	if t.Status == "" {
		t.Status = hub.ThreadOpen
	}
	_, err := s.exec(ctx, `INSERT INTO threads (`+threadCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.PracticeID, t.PatientID, t.Category, t.Status, t.AssignedTo, s.d.time(t.Created),
		s.d.time(t.LastActivity), t.LastSender, t.StaffUnread, t.PatientUnread, s.d.timePtr(t.LastNoticeAt))
	return s.d.wrap("create thread", err)
}

// GetThread reads a practice's thread; practiceID "" reads any
// practice's (an email reply token names a thread, not its practice).
func (s *Store) GetThread(ctx context.Context, practiceID, id string) (*hub.Thread, error) {
	q := `SELECT ` + threadCols + ` FROM threads WHERE id = ?`
	args := []any{id}
	if practiceID != "" {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var t hub.Thread
	err := scanThread(s.queryRow(ctx, q, args...), &t)
	if err != nil {
		return nil, s.d.wrap("get thread", err)
	}
	return &t, nil
}

// UpdateThread writes Category, Status, AssignedTo, LastActivity,
// LastSender, StaffUnread, PatientUnread and LastNoticeAt of the thread
// with t's ID and PracticeID.
func (s *Store) UpdateThread(ctx context.Context, t *hub.Thread) error {
	t.LastActivity = normTime(t.LastActivity)
	return s.execOne(ctx, "update thread", `UPDATE threads SET category = ?, status = ?, assigned_to = ?,
		last_activity = ?, last_sender = ?, staff_unread = ?, patient_unread = ?, last_notice_at = ?
		WHERE id = ? AND practice_id = ?`,
		t.Category, t.Status, t.AssignedTo, s.d.time(t.LastActivity), t.LastSender, t.StaffUnread, t.PatientUnread,
		s.d.timePtr(t.LastNoticeAt), t.ID, t.PracticeID)
}

// ListThreads lists a practice's threads, most recent LastActivity first
// (ties: newest id first). f.AssignedTo "-" selects unassigned threads;
// f.Unread those with StaffUnread > 0. f.BeforeID pages on: the threads
// that sort after that thread of the practice as it is now (none when it
// is not found).
func (s *Store) ListThreads(ctx context.Context, f hub.ThreadFilter) ([]hub.Thread, error) {
	const op = "list threads"
	if f.PracticeID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + threadCols + ` FROM threads WHERE practice_id = ?`)
	args := []any{f.PracticeID}
	assigned := f.AssignedTo
	if assigned == "-" {
		assigned = ""
	}
	for _, c := range []struct {
		cond, val string
		on        bool
	}{
		{"patient_id = ?", f.PatientID, f.PatientID != ""},
		{"status = ?", f.Status, f.Status != ""},
		{"assigned_to = ?", assigned, f.AssignedTo != ""},
	} {
		if c.on {
			q.WriteString(" AND " + c.cond)
			args = append(args, c.val)
		}
	}
	if f.Unread {
		q.WriteString(" AND staff_unread > 0")
	}
	if f.BeforeID != "" {
		q.WriteString(` AND (last_activity, id) < (SELECT last_activity, id FROM threads WHERE practice_id = ? AND id = ?)`)
		args = append(args, f.PracticeID, f.BeforeID)
	}
	q.WriteString(` ORDER BY last_activity DESC, id DESC LIMIT ?`)
	args = append(args, clampLimit(f.Limit))
	return list(ctx, s, op, scanThread, q.String(), args...)
}

// LatestOpenThread reads the patient's open thread with the most recent
// activity.
func (s *Store) LatestOpenThread(ctx context.Context, practiceID, patientID string) (*hub.Thread, error) {
	var t hub.Thread
	err := scanThread(s.queryRow(ctx, `SELECT `+threadCols+` FROM threads
		WHERE practice_id = ? AND patient_id = ? AND status = ?
		ORDER BY last_activity DESC, id DESC LIMIT 1`, practiceID, patientID, hub.ThreadOpen), &t)
	if err != nil {
		return nil, s.d.wrap("latest open thread", err)
	}
	return &t, nil
}

const messageCols = `id, practice_id, thread_id, sender_kind, sender_id, ciphertext, size, via,
	arrived_unencrypted, provider_id, created, sender_unverified`

func scanMessage(sc scanner, m *hub.SecureMessage) error {
	return sc.Scan(&m.ID, &m.PracticeID, &m.ThreadID, &m.SenderKind, &m.SenderID, &m.Ciphertext, &m.Size, &m.Via,
		&m.ArrivedUnencrypted, &m.ProviderID, timeCol{&m.Created}, &m.SenderUnverified)
}

// AddMessage inserts m; hub.ErrConflict when a message with the same
// PracticeID, Via and non-empty ProviderID is stored. The thread must be
// the practice's. An empty ID and a zero Created are filled in.
func (s *Store) AddMessage(ctx context.Context, m *hub.SecureMessage) error {
	m.ID = orNewID(m.ID, hub.PrefixMessage)
	m.Created = orNow(m.Created)
	_, err := s.exec(ctx, `INSERT INTO messages (`+messageCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.PracticeID, m.ThreadID, m.SenderKind, m.SenderID, notNilBytes(m.Ciphertext), m.Size, m.Via,
		m.ArrivedUnencrypted, m.ProviderID, s.d.time(m.Created), m.SenderUnverified)
	return s.d.wrap("add message", err)
}

// GetMessage reads a practice's message.
func (s *Store) GetMessage(ctx context.Context, practiceID, id string) (*hub.SecureMessage, error) {
	var m hub.SecureMessage
	err := scanMessage(s.queryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE practice_id = ? AND id = ?`,
		practiceID, id), &m)
	if err != nil {
		return nil, s.d.wrap("get message", err)
	}
	return &m, nil
}

// ListMessages lists a thread's messages oldest first (ids sort by
// creation time), after afterID when it is not empty.
func (s *Store) ListMessages(ctx context.Context, practiceID, threadID, afterID string, limit int) ([]hub.SecureMessage, error) {
	return list(ctx, s, "list messages", scanMessage, `SELECT `+messageCols+` FROM messages
		WHERE practice_id = ? AND thread_id = ? AND id > ? ORDER BY id LIMIT ?`,
		practiceID, threadID, afterID, clampLimit(limit))
}
