package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// CreateNotice inserts n. An empty ID and a zero Created are filled in.
func (s *Store) CreateNotice(ctx context.Context, n *hub.Notice) error {
	n.ID = orNewID(n.ID, hub.PrefixNotice)
	n.Created = orNow(n.Created)
	data, err := jsonOrNull(n.Data)
	if err != nil {
		return fmt.Errorf("store: create notice: data: %w", err)
	}
	_, err = s.exec(ctx, `INSERT INTO notices (id, practice_id, patient_id, kind, text, data, channels, mode, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.PracticeID, n.PatientID, n.Kind, n.Text, data, jsonStrings(n.Channels), string(n.Mode), s.d.time(n.Created))
	return s.d.wrap("create notice", err)
}

// GetNotice reads a practice's notice.
func (s *Store) GetNotice(ctx context.Context, practiceID, id string) (*hub.Notice, error) {
	var n hub.Notice
	var mode string
	err := s.queryRow(ctx, `SELECT id, practice_id, patient_id, kind, text, data, channels, mode, created
		FROM notices WHERE practice_id = ? AND id = ?`, practiceID, id).
		Scan(&n.ID, &n.PracticeID, &n.PatientID, &n.Kind, &n.Text, jsonCol{&n.Data}, stringsCol{&n.Channels}, &mode, timeCol{&n.Created})
	if err != nil {
		return nil, s.d.wrap("get notice", err)
	}
	n.Mode = hub.KeyMode(mode)
	return &n, nil
}

const deliveryCols = `id, practice_id, patient_id, notice_id, channel, kind, mode, state, attempts,
	provider_id, last_error, fallbacks, not_before, created, updated, template_version, escalates_from, digest_into`

func scanDelivery(sc scanner, d *hub.Delivery) error {
	var mode, state string
	err := sc.Scan(&d.ID, &d.PracticeID, &d.PatientID, &d.NoticeID, &d.Channel, &d.Kind, &mode, &state, &d.Attempts,
		&d.ProviderID, &d.LastError, stringsCol{&d.Fallbacks}, timeCol{&d.NotBefore}, timeCol{&d.Created}, timeCol{&d.Updated},
		&d.TemplateVersion, &d.EscalatesFrom, &d.DigestInto)
	d.Mode, d.State = hub.KeyMode(mode), hub.DeliveryState(state)
	return err
}

// CreateDelivery inserts d. An empty ID, an empty State (pending) and zero
// Created and Updated are filled in.
func (s *Store) CreateDelivery(ctx context.Context, d *hub.Delivery) error {
	d.ID = orNewID(d.ID, hub.PrefixDelivery)
	d.Created = orNow(d.Created)
	if d.Updated.IsZero() {
		d.Updated = d.Created
	}
	d.Updated = normTime(d.Updated)
	if d.State == "" {
		d.State = hub.StatePending
	}
	_, err := s.exec(ctx, `INSERT INTO deliveries (`+deliveryCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.PracticeID, d.PatientID, d.NoticeID, d.Channel, d.Kind, string(d.Mode), string(d.State), d.Attempts,
		d.ProviderID, d.LastError, jsonStrings(d.Fallbacks), s.d.timeOrNull(d.NotBefore),
		s.d.time(d.Created), s.d.time(d.Updated), d.TemplateVersion, d.EscalatesFrom, d.DigestInto)
	return s.d.wrap("create delivery", err)
}

// GetDelivery reads a delivery; practiceID "" reads any practice's.
func (s *Store) GetDelivery(ctx context.Context, practiceID, id string) (*hub.Delivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM deliveries WHERE id = ?`
	args := []any{id}
	if practiceID != "" {
		q += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	var d hub.Delivery
	if err := scanDelivery(s.queryRow(ctx, q, args...), &d); err != nil {
		return nil, s.d.wrap("get delivery", err)
	}
	return &d, nil
}

// ClaimDelivery counts an attempt at a pending delivery and returns it, in
// one statement; hub.ErrNoRows when the delivery is missing or no longer
// pending.
func (s *Store) ClaimDelivery(ctx context.Context, id string, at time.Time) (*hub.Delivery, error) {
	var d hub.Delivery
	err := scanDelivery(s.queryRow(ctx, `UPDATE deliveries SET attempts = attempts + 1, updated = ?
		WHERE id = ? AND state = 'pending' AND digest_into = '' RETURNING `+deliveryCols, s.d.time(normTime(at)), id), &d)
	if err != nil {
		return nil, s.d.wrap("claim delivery", err)
	}
	return &d, nil
}

// UpdateDelivery writes State, Attempts, ProviderID, LastError, Fallbacks,
// NotBefore and Updated of the delivery with d's ID and PracticeID. A zero
// Updated is set to now.
func (s *Store) UpdateDelivery(ctx context.Context, d *hub.Delivery) error {
	d.Updated = orNow(d.Updated)
	return s.execOne(ctx, "update delivery", `UPDATE deliveries
		SET state = ?, attempts = ?, provider_id = ?, last_error = ?, fallbacks = ?, not_before = ?, updated = ?
		WHERE id = ? AND practice_id = ?`,
		string(d.State), d.Attempts, d.ProviderID, d.LastError, jsonStrings(d.Fallbacks), s.d.timeOrNull(d.NotBefore),
		s.d.time(d.Updated), d.ID, d.PracticeID)
}

// FindDeliveryByProviderID finds the delivery a provider's id belongs to
// (the newest, should a provider reuse an id).
func (s *Store) FindDeliveryByProviderID(ctx context.Context, channel, providerID string) (*hub.Delivery, error) {
	const op = "find delivery by provider id"
	if providerID == "" {
		return nil, s.d.wrap(op, sql.ErrNoRows)
	}
	var d hub.Delivery
	err := scanDelivery(s.queryRow(ctx, `SELECT `+deliveryCols+` FROM deliveries
		WHERE channel = ? AND provider_id = ? ORDER BY id DESC LIMIT 1`, channel, providerID), &d)
	if err != nil {
		return nil, s.d.wrap(op, err)
	}
	return &d, nil
}

// ListDeliveries lists a practice's deliveries, newest first: ids sort by
// creation time. f.BeforeID pages to older ones.
func (s *Store) ListDeliveries(ctx context.Context, f hub.DeliveryFilter) ([]hub.Delivery, error) {
	const op = "list deliveries"
	if f.PracticeID == "" {
		return nil, s.d.wrap(op, errNeedPractice)
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + deliveryCols + ` FROM deliveries WHERE practice_id = ?`)
	args := []any{f.PracticeID}
	for _, c := range []struct{ col, val string }{
		{"patient_id = ?", f.PatientID},
		{"notice_id = ?", f.NoticeID},
		{"state = ?", string(f.State)},
		{"id < ?", f.BeforeID},
	} {
		if c.val != "" {
			q.WriteString(" AND " + c.col)
			args = append(args, c.val)
		}
	}
	q.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, clampLimit(f.Limit))
	return list(ctx, s, op, scanDelivery, q.String(), args...)
}

// ListPendingDeliveries pages through pending deliveries of every practice
// last updated before updatedBefore, ordered by id, starting after afterID.
func (s *Store) ListPendingDeliveries(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]hub.Delivery, error) {
	return list(ctx, s, "list pending deliveries", scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE state = ? AND digest_into = '' AND updated < ? AND id > ? ORDER BY id LIMIT ?`,
		string(hub.StatePending), s.d.time(updatedBefore), afterID, clampLimit(limit))
}

// CountDeliveries counts deliveries by state across all practices; every
// known state is present, with 0 when it has none.
func (s *Store) CountDeliveries(ctx context.Context) (map[hub.DeliveryState]int, error) {
	type count struct {
		state string
		n     int
	}
	rows, err := list(ctx, s, "count deliveries", func(sc scanner, c *count) error {
		return sc.Scan(&c.state, &c.n)
	}, `SELECT state, COUNT(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, err
	}
	out := map[hub.DeliveryState]int{
		hub.StatePending: 0, hub.StateSent: 0, hub.StateDelivered: 0, hub.StateFailed: 0,
		hub.StateUndelivered: 0, hub.StateBounced: 0, hub.StateCancelled: 0,
	}
	for _, c := range rows {
		out[hub.DeliveryState(c.state)] = c.n
	}
	return out, nil
}

// CancelEscalations cancels the practice's pending deliveries that
// escalate the portal delivery fromID (its item was read).
func (s *Store) CancelEscalations(ctx context.Context, practiceID, fromID string, at time.Time) (int64, error) {
	if fromID == "" {
		return 0, nil
	}
	res, err := s.exec(ctx, `UPDATE deliveries SET state = 'cancelled', last_error = 'read_before_escalation', updated = ?
		WHERE practice_id = ? AND escalates_from = ? AND state = 'pending'`, s.d.time(normTime(at)), practiceID, fromID)
	if err != nil {
		return 0, s.d.wrap("cancel escalations", err)
	}
	return res.RowsAffected()
}

// FindDigestLeader finds the patient's pending, unclaimed notice delivery
// on channel that waits until after notBefore: a new notice can ride
// along in it.
func (s *Store) FindDigestLeader(ctx context.Context, practiceID, patientID, channel string, mode hub.KeyMode, notBefore time.Time) (*hub.Delivery, error) {
	var d hub.Delivery
	err := scanDelivery(s.queryRow(ctx, `SELECT `+deliveryCols+` FROM deliveries
		WHERE practice_id = ? AND patient_id = ? AND channel = ? AND mode = ? AND kind = ? AND state = 'pending'
		AND attempts = 0 AND digest_into = '' AND escalates_from = '' AND not_before > ?
		ORDER BY id LIMIT 1`,
		practiceID, patientID, channel, string(mode), hub.KindNotice, s.d.time(normTime(notBefore))), &d)
	if err != nil {
		return nil, s.d.wrap("find digest leader", err)
	}
	return &d, nil
}

// ListDigestMembers lists the deliveries riding along in leaderID, oldest
// first.
func (s *Store) ListDigestMembers(ctx context.Context, practiceID, leaderID string) ([]hub.Delivery, error) {
	return list(ctx, s, "list digest members", scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE practice_id = ? AND digest_into = ? ORDER BY id LIMIT ?`, practiceID, leaderID, MaxLimit)
}

// ReleaseDigestMember lets a rider go on its own: digest_into and
// not_before cleared.
func (s *Store) ReleaseDigestMember(ctx context.Context, d *hub.Delivery) error {
	d.Updated = orNow(d.Updated)
	return s.execOne(ctx, "release digest member", `UPDATE deliveries SET digest_into = '', not_before = NULL, updated = ?
		WHERE id = ? AND practice_id = ?`, s.d.time(d.Updated), d.ID, d.PracticeID)
}
