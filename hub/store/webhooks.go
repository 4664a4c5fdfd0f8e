package store

import (
	"context"
	"time"

	"github.com/karerehub/karere/hub"
)

const webhookCols = `id, practice_id, type, body, state, attempts, last_error, created, updated`

func scanWebhookEvent(sc scanner, e *hub.WebhookEvent) error {
	var body string
	err := sc.Scan(&e.ID, &e.PracticeID, &e.Type, &body, &e.State, &e.Attempts, &e.LastError,
		timeCol{&e.Created}, timeCol{&e.Updated})
	e.Body = []byte(body)
	return err
}

// CreateWebhookEvent inserts e. An empty ID, an empty State (pending) and
// zero Created and Updated are filled in.
func (s *Store) CreateWebhookEvent(ctx context.Context, e *hub.WebhookEvent) error {
	e.ID = orNewID(e.ID, hub.PrefixWebhook)
	e.Created = orNow(e.Created)
	if e.Updated.IsZero() {
		e.Updated = e.Created
	}
	e.Updated = normTime(e.Updated)
	if e.State == "" {
		e.State = hub.WebhookPending
	}
	_, err := s.exec(ctx, `INSERT INTO webhook_events (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.PracticeID, e.Type, string(e.Body), e.State, e.Attempts, e.LastError, s.d.time(e.Created), s.d.time(e.Updated))
	return s.d.wrap("create webhook event", err)
}

// GetWebhookEvent reads an event; practiceID "" reads any practice's.
func (s *Store) GetWebhookEvent(ctx context.Context, practiceID, id string) (*hub.WebhookEvent, error) {
	q := `SELECT ` + webhookCols + ` FROM webhook_events WHERE id = ?`
	args := []any{id}
	if practiceID != "" {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var e hub.WebhookEvent
	if err := scanWebhookEvent(s.queryRow(ctx, q, args...), &e); err != nil {
		return nil, s.d.wrap("get webhook event", err)
	}
	return &e, nil
}

// UpdateWebhookEvent writes State, Attempts, LastError and Updated.
func (s *Store) UpdateWebhookEvent(ctx context.Context, e *hub.WebhookEvent) error {
	e.Updated = orNow(e.Updated)
	return s.execOne(ctx, "update webhook event", `UPDATE webhook_events
		SET state = ?, attempts = ?, last_error = ?, updated = ? WHERE practice_id = ? AND id = ?`,
		e.State, e.Attempts, e.LastError, s.d.time(e.Updated), e.PracticeID, e.ID)
}

// ListWebhookEvents lists a practice's events, newest first.
func (s *Store) ListWebhookEvents(ctx context.Context, practiceID string, limit int) ([]hub.WebhookEvent, error) {
	const op = "list webhook events"
	if practiceID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	return list(ctx, s, op, scanWebhookEvent, `SELECT `+webhookCols+` FROM webhook_events
		WHERE practice_id = ? ORDER BY id DESC LIMIT ?`, practiceID, clampLimit(limit))
}

// ListPendingWebhookEvents pages through pending events last updated
// before updatedBefore, ordered by id.
func (s *Store) ListPendingWebhookEvents(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]hub.WebhookEvent, error) {
	return list(ctx, s, "list pending webhook events", scanWebhookEvent, `SELECT `+webhookCols+` FROM webhook_events
		WHERE state = ? AND updated < ? AND id > ? ORDER BY id LIMIT ?`,
		hub.WebhookPending, s.d.time(updatedBefore), afterID, clampLimit(limit))
}
