package store

import (
	"context"
	"fmt"

	"github.com/karerehub/karere/hub"
)

// putTemplateAttempts bounds PutTemplate's retries when a concurrent save
// takes the version it computed (PostgreSQL only: SQLite's write
// transactions never overlap).
const putTemplateAttempts = 10

const templateCols = `id, practice_id, kind, channel, locale, subject, body, html, version, created, created_by`

func scanTemplate(sc scanner, t *hub.PracticeTemplate) error {
	return sc.Scan(&t.ID, &t.PracticeID, &t.Kind, &t.Channel, &t.Locale, &t.Subject, &t.Body, &t.HTML,
		&t.Version, timeCol{&t.Created}, &t.CreatedBy)
}

// PutTemplate stores t as the next version of its key.
//
// The next version is read and inserted in one transaction (joining the
// caller's, if any). In SQLite that transaction holds the write lock from
// its start, so nobody else can insert in between. In PostgreSQL two
// transactions may read the same highest version: the second insert then
// waits for the first to commit and fails on the unique key, and is retried
// after rolling back to a savepoint, which keeps the caller's transaction
// usable.
func (s *Store) PutTemplate(ctx context.Context, t *hub.PracticeTemplate) error {
	const op = "put template"
	if t.PracticeID == "" {
		return s.d.wrap(op, errNeedPractice)
	}
	t.ID = orNewID(t.ID, hub.PrefixTemplate)
	t.Created = orNow(t.Created)
	return s.Tx(ctx, func(ts *Store) error {
		var err error
		for range putTemplateAttempts {
			if err = ts.insertNextTemplate(ctx, t); !s.d.isUnique(err) {
				break
			}
		}
		if err != nil {
			t.Version = 0
		}
		return s.d.wrap(op, err)
	})
}

// insertNextTemplate inserts t with the next free version, inside a
// savepoint that is rolled back when the insert fails.
func (s *Store) insertNextTemplate(ctx context.Context, t *hub.PracticeTemplate) error {
	if _, err := s.exec(ctx, `SAVEPOINT put_template`); err != nil {
		return err
	}
	err := s.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM templates
		WHERE practice_id = ? AND kind = ? AND channel = ? AND locale = ?`,
		t.PracticeID, t.Kind, t.Channel, t.Locale).Scan(&t.Version)
	if err == nil {
		_, err = s.exec(ctx, `INSERT INTO templates (`+templateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.PracticeID, t.Kind, t.Channel, t.Locale, t.Subject, t.Body, t.HTML, t.Version,
			s.d.time(t.Created), t.CreatedBy)
	}
	if err != nil {
		if _, rerr := s.exec(ctx, `ROLLBACK TO SAVEPOINT put_template`); rerr != nil {
			return fmt.Errorf("%w (and rolling back: %w)", err, rerr)
		}
		return err
	}
	_, err = s.exec(ctx, `RELEASE SAVEPOINT put_template`)
	return err
}

// CurrentTemplate returns the highest version of a practice's template.
func (s *Store) CurrentTemplate(ctx context.Context, practiceID, kind, channel, locale string) (*hub.PracticeTemplate, error) {
	var t hub.PracticeTemplate
	err := scanTemplate(s.queryRow(ctx, `SELECT `+templateCols+` FROM templates
		WHERE practice_id = ? AND kind = ? AND channel = ? AND locale = ?
		ORDER BY version DESC LIMIT 1`, practiceID, kind, channel, locale), &t)
	if err != nil {
		return nil, s.d.wrap("current template", err)
	}
	return &t, nil
}

// ListTemplateVersions lists the versions of one template, newest first.
func (s *Store) ListTemplateVersions(ctx context.Context, practiceID, kind, channel, locale string, limit int) ([]hub.PracticeTemplate, error) {
	return list(ctx, s, "list template versions", scanTemplate, `SELECT `+templateCols+` FROM templates
		WHERE practice_id = ? AND kind = ? AND channel = ? AND locale = ?
		ORDER BY version DESC LIMIT ?`, practiceID, kind, channel, locale, clampLimit(limit))
}

// ListTemplates lists the current version of each of a practice's
// templates.
func (s *Store) ListTemplates(ctx context.Context, practiceID string) ([]hub.PracticeTemplate, error) {
	const op = "list templates"
	if practiceID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	return list(ctx, s, op, scanTemplate, `SELECT `+templateCols+` FROM templates t
		WHERE practice_id = ? AND version = (SELECT MAX(version) FROM templates c
			WHERE c.practice_id = t.practice_id AND c.kind = t.kind AND c.channel = t.channel AND c.locale = t.locale)
		ORDER BY kind, channel, locale`, practiceID)
}

// SetDeliveryTemplateVersion records the template version a delivery was
// rendered from.
func (s *Store) SetDeliveryTemplateVersion(ctx context.Context, deliveryID string, version int) error {
	return s.execOne(ctx, "set delivery template version",
		`UPDATE deliveries SET template_version = ? WHERE id = ?`, version, deliveryID)
}
