package hub

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Digests: with a digest window set (settings/reminders digest_window), a
// plain notice to SMS or email waits out the window, and notices planned
// for the same patient and channel meanwhile ride along in it: the patient
// gets one text or email listing them, not one each. Riders are never
// queued themselves; they end sent, or failed (then each tries its own
// next channel), with the delivery they rode in.

// digestMargin keeps a rider from joining a delivery about to be sent.
const digestMargin = 2 * time.Second

// planNoticeDelivery is planDelivery for a plain notice: with a digest
// window it joins a waiting delivery, or waits the window itself.
func (s *Service) planNoticeDelivery(ctx context.Context, tx Store, a Actor, p *Patient, n *Notice) (*Delivery, error) {
	ch, rest := firstReachable(p, n.Kind, n.Channels, s.Now())
	if ch != ChannelSMS && ch != ChannelEmail {
		return s.planDelivery(ctx, tx, a, p, n.ID, n.Kind, n.Channels)
	}
	cfg, err := s.ReminderConfig(ctx, p.PracticeID)
	if err != nil {
		return nil, err
	}
	if cfg.DigestWindow <= 0 {
		return s.planDelivery(ctx, tx, a, p, n.ID, n.Kind, n.Channels)
	}
	now := s.Now()
	mode := a.Mode
	if mode == "" {
		mode = ModeLive
	}
	d := &Delivery{ID: NewID(PrefixDelivery), PracticeID: p.PracticeID, PatientID: p.ID, NoticeID: n.ID,
		Channel: ch, Kind: n.Kind, Mode: mode, State: StatePending, Fallbacks: rest, Created: now, Updated: now}
	leader, err := tx.FindDigestLeader(ctx, p.PracticeID, p.ID, ch, mode, now.Add(digestMargin))
	switch {
	case err == nil:
		d.DigestInto, d.NotBefore = leader.ID, leader.NotBefore
		return d, tx.CreateDelivery(ctx, d)
	case !errors.Is(err, ErrNoRows):
		return nil, err
	}
	d.NotBefore = now.Add(cfg.DigestWindow)
	if err := tx.CreateDelivery(ctx, d); err != nil {
		return nil, err
	}
	s.enqueueAfterCommit(ctx, d)
	return d, nil
}

// gatherDigest adds the riders' texts to a delivery being composed.
func (s *Service) gatherDigest(ctx context.Context, d *Delivery, m *Message, data *RenderData) error {
	riders, err := s.store.ListDigestMembers(ctx, d.PracticeID, d.ID)
	if err != nil || len(riders) == 0 {
		return err
	}
	texts := []string{data.Text}
	for _, r := range riders {
		n, err := s.store.GetNotice(ctx, d.PracticeID, r.NoticeID)
		if err != nil {
			return err
		}
		texts = append(texts, n.Text)
	}
	data.Text = strings.Join(texts, "\n\n")
	m.members = riders
	return nil
}

// settleDigest ends the riders of d as d ended, and lets go of any that
// joined after d was composed (they are queued on their own).
func (s *Service) settleDigest(ctx context.Context, tx Store, d *Delivery, included []Delivery) error {
	if d.Kind != KindNotice || (d.Channel != ChannelSMS && d.Channel != ChannelEmail) {
		return nil // only plain notices to SMS or email carry riders
	}
	all, err := tx.ListDigestMembers(ctx, d.PracticeID, d.ID)
	if err != nil || len(all) == 0 {
		return err
	}
	in := map[string]bool{}
	for _, r := range included {
		in[r.ID] = true
	}
	a := Actor{PracticeID: d.PracticeID, ID: "worker", Mode: d.Mode}
	for i := range all {
		r := &all[i]
		r.Updated = s.Now()
		if !in[r.ID] {
			r.DigestInto, r.NotBefore = "", time.Time{}
			if err := tx.ReleaseDigestMember(ctx, r); err != nil {
				return err
			}
			s.enqueueAfterCommit(ctx, r)
			continue
		}
		r.State, r.ProviderID, r.LastError, r.Attempts, r.TemplateVersion = d.State, d.ProviderID, d.LastError, d.Attempts, d.TemplateVersion
		if err := tx.UpdateDelivery(ctx, r); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, a, "delivery."+string(d.State), r.PatientID, r.ID); err != nil {
			return err
		}
		if d.State != StateSent {
			if err := s.fallback(ctx, tx, a, r); err != nil {
				return err
			}
		}
	}
	return nil
}
