package delivery

import (
	"context"
	"errors"

	"github.com/karerehub/karere/hub"
)

// Inbox lists a patient's portal inbox, newest first (audited).
func (s *Service) Inbox(ctx context.Context, a hub.Actor, externalID string, limit int) ([]hub.InboxItem, error) {
	var items []hub.InboxItem
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		if items, err = s.store.ListInbox(ctx, a.PracticeID, p.ID, limit); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "inbox.read", p.ID, p.ID)
	})
	return items, err
}

// MarkInboxRead marks one inbox item read.
func (s *Service) MarkInboxRead(ctx context.Context, a hub.Actor, externalID, itemID string) error {
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		if err := s.store.MarkInboxRead(ctx, a.PracticeID, p.ID, itemID, s.Now()); err != nil {
			if errors.Is(err, hub.ErrNoRows) {
				return hub.NotFound("inbox item")
			}
			return err
		}
		it, err := s.store.GetInboxItem(ctx, a.PracticeID, itemID)
		if err != nil {
			return err
		}
		if err := s.cancelEscalationsFor(ctx, a.PracticeID, it.DeliveryID); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "inbox.mark_read", p.ID, itemID)
	})
}
