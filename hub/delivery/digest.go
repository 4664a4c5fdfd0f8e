package delivery

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/templating"
)

// Digests: with a digest window set (settings/reminders digest_window), a
// plain notice to SMS or email waits out the window, and notices planned
// for the same patient and channel meanwhile ride along in it: the patient
// gets one text or email listing them, not one each. Riders are never
// queued themselves; they end sent, or failed (then each tries its own
// next channel), with the delivery they rode in.

// digestMargin keeps a rider from joining a delivery about to be sent.
const digestMargin = 2 * time.Second

// planNoticeDelivery is Plan for a plain notice: with a digest
// window it joins a waiting delivery, or waits the window itself.
func (s *Service) planNoticeDelivery(ctx context.Context, a hub.Actor, p *hub.Patient, n *hub.Notice) (*hub.Delivery, error) {
	ch, rest := p.FirstReachable(n.Kind, n.Channels, s.Now())
	if ch != hub.ChannelSMS && ch != hub.ChannelEmail {
		return s.Plan(ctx, a, p, n.ID, n.Kind, n.Channels)
	}
	cfg, err := s.settings.ReminderConfig(ctx, p.PracticeID)
	if err != nil {
		return nil, err
	}
	if cfg.DigestWindow <= 0 {
		return s.Plan(ctx, a, p, n.ID, n.Kind, n.Channels)
	}
	now := s.Now()
	mode := a.Mode
	if mode == "" {
		mode = hub.ModeLive
	}
	d := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), PracticeID: p.PracticeID, PatientID: p.ID, NoticeID: n.ID,
		Channel: ch, Kind: n.Kind, Mode: mode, State: hub.StatePending, Fallbacks: rest, Created: now, Updated: now}
	leader, err := s.store.FindDigestLeader(ctx, p.PracticeID, p.ID, ch, mode, now.Add(digestMargin))
	switch {
	case err == nil:
		d.DigestInto, d.NotBefore = leader.ID, leader.NotBefore
		return d, s.store.CreateDelivery(ctx, d)
	case !errors.Is(err, hub.ErrNoRows):
		return nil, err
	}
	d.NotBefore = now.Add(cfg.DigestWindow)
	if err := s.store.CreateDelivery(ctx, d); err != nil {
		return nil, err
	}
	s.enqueueAfterCommit(ctx, d)
	return d, nil
}

// gatherDigest adds the riders' texts to a delivery being composed.
func (s *Service) gatherDigest(ctx context.Context, d *hub.Delivery, data *templating.Facts) ([]hub.Delivery, error) {
	riders, err := s.store.ListDigestMembers(ctx, d.PracticeID, d.ID)
	if err != nil || len(riders) == 0 {
		return nil, err
	}
	texts := []string{data.Text}
	for _, r := range riders {
		n, err := s.store.GetNotice(ctx, d.PracticeID, r.NoticeID)
		if err != nil {
			return nil, err
		}
		texts = append(texts, n.Text)
	}
	data.Text = strings.Join(texts, "\n\n")
	return riders, nil
}

// settleDigest ends the riders of d as d ended, and lets go of any that
// joined after d was composed (they are queued on their own).
func (s *Service) settleDigest(ctx context.Context, d *hub.Delivery, included []hub.Delivery) error {
	if d.Kind != hub.KindNotice || (d.Channel != hub.ChannelSMS && d.Channel != hub.ChannelEmail) {
		return nil // only plain notices to SMS or email carry riders
	}
	all, err := s.store.ListDigestMembers(ctx, d.PracticeID, d.ID)
	if err != nil || len(all) == 0 {
		return err
	}
	in := map[string]bool{}
	for _, r := range included {
		in[r.ID] = true
	}
	a := hub.Actor{PracticeID: d.PracticeID, ID: "worker", Mode: d.Mode}
	for i := range all {
		r := &all[i]
		r.Updated = s.Now()
		if !in[r.ID] {
			r.DigestInto, r.NotBefore = "", time.Time{}
			if err := s.store.ReleaseDigestMember(ctx, r); err != nil {
				return err
			}
			s.enqueueAfterCommit(ctx, r)
			continue
		}
		r.State, r.ProviderID, r.LastError, r.Attempts, r.TemplateVersion = d.State, d.ProviderID, d.LastError, d.Attempts, d.TemplateVersion
		if err := s.store.UpdateDelivery(ctx, r); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, a, "delivery."+string(d.State), r.PatientID, r.ID); err != nil {
			return err
		}
		if d.State != hub.StateSent {
			if err := s.fallback(ctx, a, r); err != nil {
				return err
			}
		}
	}
	return nil
}
