package store

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

// PutInboxItem stores it; an item with the same DeliveryID is ignored, so
// a retried portal send stores one. An empty ID and a zero Created are
// filled in; an empty DeliveryID never conflicts.
func (s *Store) PutInboxItem(ctx context.Context, it *hub.InboxItem) error {
	it.ID = orNewID(it.ID, hub.PrefixInbox)
	it.Created = orNow(it.Created)
	_, err := s.exec(ctx, `INSERT INTO inbox_items (id, practice_id, patient_id, delivery_id, kind, text, thread_id, created, read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (delivery_id) DO NOTHING`,
		it.ID, it.PracticeID, it.PatientID, nullIfEmpty(it.DeliveryID), it.Kind, it.Text, it.ThreadID,
		s.d.time(it.Created), s.d.timePtr(it.ReadAt))
	return s.d.wrap("put inbox item", err)
}

func scanInboxItem(sc scanner, it *hub.InboxItem) error {
	return sc.Scan(&it.ID, &it.PracticeID, &it.PatientID, &it.DeliveryID, &it.Kind, &it.Text, &it.ThreadID,
		timeCol{&it.Created}, timePtrCol{&it.ReadAt})
}

// ListInbox lists a patient's inbox, newest first.
func (s *Store) ListInbox(ctx context.Context, practiceID, patientID string, limit int) ([]hub.InboxItem, error) {
	return list(ctx, s, "list inbox", scanInboxItem, `SELECT id, practice_id, patient_id, COALESCE(delivery_id, ''),
		kind, text, thread_id, created, read_at
		FROM inbox_items WHERE practice_id = ? AND patient_id = ?
		ORDER BY created DESC, id DESC LIMIT ?`, practiceID, patientID, clampLimit(limit))
}

// GetInboxItem reads one of a practice's portal items.
func (s *Store) GetInboxItem(ctx context.Context, practiceID, id string) (*hub.InboxItem, error) {
	var it hub.InboxItem
	err := scanInboxItem(s.queryRow(ctx, `SELECT id, practice_id, patient_id, COALESCE(delivery_id, ''),
		kind, text, thread_id, created, read_at
		FROM inbox_items WHERE practice_id = ? AND id = ?`, practiceID, id), &it)
	if err != nil {
		return nil, s.d.wrap("get inbox item", err)
	}
	return &it, nil
}

// GetInboxItemByDelivery finds the portal item a delivery stored.
func (s *Store) GetInboxItemByDelivery(ctx context.Context, practiceID, deliveryID string) (*hub.InboxItem, error) {
	var it hub.InboxItem
	err := scanInboxItem(s.queryRow(ctx, `SELECT id, practice_id, patient_id, COALESCE(delivery_id, ''),
		kind, text, thread_id, created, read_at
		FROM inbox_items WHERE practice_id = ? AND delivery_id = ?`, practiceID, deliveryID), &it)
	if err != nil {
		return nil, s.d.wrap("get inbox item by delivery", err)
	}
	return &it, nil
}

// MarkInboxRead records when the patient read an item; a second call keeps
// the first time.
func (s *Store) MarkInboxRead(ctx context.Context, practiceID, patientID, itemID string, at time.Time) error {
	return s.execOne(ctx, "mark inbox read", `UPDATE inbox_items SET read_at = COALESCE(read_at, ?)
		WHERE practice_id = ? AND patient_id = ? AND id = ?`,
		s.d.time(at), practiceID, patientID, itemID)
}

// PutOutboxItem stores it; an item with the same DeliveryID is ignored.
// An empty ID and a zero Created are filled in.
func (s *Store) PutOutboxItem(ctx context.Context, it *hub.OutboxItem) error {
	it.ID = orNewID(it.ID, hub.PrefixOutbox)
	it.Created = orNow(it.Created)
	_, err := s.exec(ctx, `INSERT INTO outbox_items (id, practice_id, delivery_id, channel, to_addr, subject, text, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (delivery_id) DO NOTHING`,
		it.ID, it.PracticeID, nullIfEmpty(it.DeliveryID), it.Channel, it.To, it.Subject, it.Text, s.d.time(it.Created))
	return s.d.wrap("put outbox item", err)
}

func scanOutboxItem(sc scanner, it *hub.OutboxItem) error {
	return sc.Scan(&it.ID, &it.PracticeID, &it.DeliveryID, &it.Channel, &it.To, &it.Subject, &it.Text, timeCol{&it.Created})
}

// ListOutbox lists a practice's outbox (practiceID "" for all), newest
// first.
func (s *Store) ListOutbox(ctx context.Context, practiceID string, limit int) ([]hub.OutboxItem, error) {
	q := `SELECT id, practice_id, COALESCE(delivery_id, ''), channel, to_addr, subject, text, created FROM outbox_items`
	args := []any{}
	if practiceID != "" {
		q += ` WHERE practice_id = ?`
		args = append(args, practiceID)
	}
	q += ` ORDER BY created DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	return list(ctx, s, "list outbox", scanOutboxItem, q, args...)
}
