package delivery

import (
	"context"
	"errors"

	"github.com/karerehub/karere/hub"
)

// Escalation (as Knock and Novu do with conditions on read state): a
// portal notice or secure-message notice that the patient has not read
// EscalateAfter after it reached their portal inbox goes to the next
// channel in their order. The escalation is planned as a pending delivery
// with NotBefore, so the queue, the sweeper and the delivery history treat
// it like any other; reading the portal item cancels it, and a delivery
// that fires finds the item read and cancels itself.

// escalatable kinds are those a patient "reads" in the portal.
func escalatable(kind string) bool {
	return kind == hub.KindNotice || kind == hub.KindSecureMessageNotice
}

// planEscalation runs after a portal delivery was sent: when the practice
// escalates and the patient has another channel, it plans that delivery
// for later.
func (s *Service) planEscalation(ctx context.Context, d *hub.Delivery) error {
	if d.Channel != hub.ChannelPortal || !escalatable(d.Kind) || d.Mode == hub.ModeTest || len(d.Fallbacks) == 0 {
		return nil
	}
	cfg, err := s.settings.ReminderConfig(ctx, d.PracticeID)
	if err != nil || cfg.EscalateAfter <= 0 {
		return err
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return err
	}
	ch, rest := p.FirstReachable(d.Kind, d.Fallbacks, s.Now())
	if ch == "" {
		return nil
	}
	now := s.Now()
	e := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), PracticeID: d.PracticeID, PatientID: d.PatientID, NoticeID: d.NoticeID,
		Channel: ch, Kind: d.Kind, Mode: d.Mode, State: hub.StatePending, Fallbacks: rest,
		NotBefore: now.Add(cfg.EscalateAfter), EscalatesFrom: d.ID, Created: now, Updated: now}
	if err := s.store.CreateDelivery(ctx, e); err != nil {
		return err
	}
	s.enqueueAfterCommit(ctx, e)
	return nil
}

// escalationStillNeeded reports whether an escalating delivery should go
// out: its portal item is still unread (for a secure-message notice: the
// thread still has messages the patient has not read).
func (s *Service) escalationStillNeeded(ctx context.Context, d *hub.Delivery) (bool, error) {
	it, err := s.store.GetInboxItemByDelivery(ctx, d.PracticeID, d.EscalatesFrom)
	if errors.Is(err, hub.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if it.ReadAt != nil {
		return false, nil
	}
	if it.ThreadID != "" {
		t, err := s.store.GetThread(ctx, d.PracticeID, it.ThreadID)
		if err == nil && t.PatientUnread == 0 {
			return false, nil
		}
	}
	return true, nil
}

// cancelEscalated marks an escalating delivery cancelled: the patient read
// the portal item in time.
func (s *Service) cancelEscalated(ctx context.Context, d *hub.Delivery) error {
	return hub.Tx(context.WithoutCancel(ctx), s.store, func(ctx context.Context) error {
		d.State = hub.StateCancelled
		d.LastError = "read_before_escalation"
		d.Updated = s.Now()
		if err := s.store.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		return s.audit.Record(ctx, hub.Actor{PracticeID: d.PracticeID, ID: "worker"}, "delivery.cancelled", d.PatientID, d.ID)
	})
}

// cancelEscalationsFor cancels the escalations of the portal delivery
// behind an item the patient has just read.
func (s *Service) cancelEscalationsFor(ctx context.Context, practiceID, deliveryID string) error {
	if deliveryID == "" {
		return nil
	}
	_, err := s.store.CancelEscalations(ctx, practiceID, deliveryID, s.Now())
	return err
}
