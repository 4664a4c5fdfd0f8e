package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/templating"
	"github.com/karerehub/karere/templates"
)

// Deliver sends one delivery. The queue's worker calls it for each task;
// final is true on the last attempt the queue will make.
//
// It does nothing unless the delivery is pending, so a task run twice
// sends once (as far as the channel allows). The attempt is counted before
// the channel is called; the outcome is recorded before Deliver returns,
// so the task is acknowledged only after the database knows. A temporary
// channel error is returned (the queue retries it with backoff); on the
// final attempt, and for permanent errors, the delivery is marked failed
// and the patient's next channel is tried.
func (s *Service) Deliver(ctx context.Context, id string, final bool) error {
	d, err := s.store.ClaimDelivery(ctx, id, s.Now())
	if errors.Is(err, hub.ErrNoRows) {
		return nil // sent, failed or cancelled already (or unknown): nothing to do
	}
	if err != nil {
		return err
	}
	if d.EscalatesFrom != "" {
		need, err := s.escalationStillNeeded(ctx, d)
		if err != nil {
			return err
		}
		if !need {
			return s.cancelEscalated(ctx, d)
		}
	}
	msg, riders, err := s.compose(ctx, d)
	var rec hub.Receipt
	if err == nil {
		ch := s.channelFor(d, msg)
		if sc, ok := ch.(hub.StoreChannel); ok {
			// Keeping and recording in one transaction: both or neither.
			if err = s.sendInTx(ctx, d, msg, riders, sc); err == nil {
				return nil
			}
		} else {
			rec, err = ch.Send(ctx, msg)
		}
	}
	switch {
	case err == nil:
		return s.markSent(ctx, d, rec, riders)
	case hub.IsPermanent(err):
		var pe *hub.PermanentError
		errors.As(err, &pe)
		s.log.Info("delivery failed permanently", "delivery", d.ID, "channel", d.Channel, "reason", pe.Reason)
		return s.fail(ctx, d, hub.StateFailed, pe.Reason, err, riders)
	case final:
		s.log.Warn("delivery failed: retries exhausted", "delivery", d.ID, "channel", d.Channel)
		if ferr := s.fail(ctx, d, hub.StateFailed, "retries_exhausted", err, riders); ferr != nil {
			return ferr
		}
		return fmt.Errorf("delivery: %s: retries exhausted: %w", d.ID, err)
	default:
		d.LastError = hub.ErrorText("temporary", err)
		d.Updated = s.Now()
		if uerr := s.store.UpdateDelivery(context.WithoutCancel(ctx), d); uerr != nil {
			s.log.Warn("recording a temporary failure", "delivery", d.ID, "err", uerr)
		}
		return fmt.Errorf("delivery: %s: %w", d.ID, err)
	}
}

func (s *Service) markSent(ctx context.Context, d *hub.Delivery, rec hub.Receipt, members []hub.Delivery) error {
	ctx = context.WithoutCancel(ctx) // the send happened: record it even if the task is being cancelled
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		return s.recordSent(ctx, d, rec, members)
	})
}

// sendInTx sends through a channel that only writes to the database, in
// the transaction that records the delivery sent.
func (s *Service) sendInTx(ctx context.Context, d *hub.Delivery, m *hub.Message, riders []hub.Delivery, sc hub.StoreChannel) error {
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		rec, err := sc.SendInTx(ctx, m)
		if err != nil {
			return err
		}
		return s.recordSent(ctx, d, rec, riders)
	})
}

// recordSent marks d sent (with its riders) and plans its escalation.
func (s *Service) recordSent(ctx context.Context, d *hub.Delivery, rec hub.Receipt, members []hub.Delivery) error {
	d.State = hub.StateSent
	d.ProviderID = rec.ProviderID
	d.LastError = ""
	d.Updated = s.Now()
	if err := s.store.UpdateDelivery(ctx, d); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, hub.Actor{PracticeID: d.PracticeID, ID: "worker"}, "delivery.sent", d.PatientID, d.ID); err != nil {
		return err
	}
	if err := s.settleDigest(ctx, d, members); err != nil {
		return err
	}
	return s.planEscalation(ctx, d)
}

// fail marks d with a failed state and plans the next channel, if any.
func (s *Service) fail(ctx context.Context, d *hub.Delivery, state hub.DeliveryState, reason string, cause error, members []hub.Delivery) error {
	ctx = context.WithoutCancel(ctx)
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		d.State = state
		d.LastError = hub.ErrorText(reason, unwrapPermanent(cause))
		d.Updated = s.Now()
		if err := s.store.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		a := hub.Actor{PracticeID: d.PracticeID, ID: "worker", Mode: d.Mode}
		if err := s.audit.Record(ctx, a, "delivery."+string(state), d.PatientID, d.ID); err != nil {
			return err
		}
		if reason == "unsubscribed" && d.Channel == hub.ChannelSMS {
			// The number texted STOP to the provider directly: honour it here too.
			if p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID); err == nil && p.SMSOptOut == nil {
				t := s.Now()
				p.SMSOptOut = &t
				if _, err := s.store.PutPatient(ctx, p); err != nil {
					return err
				}
			}
		}
		if err := s.settleDigest(ctx, d, members); err != nil {
			return err
		}
		return s.fallback(ctx, a, d)
	})
}

func unwrapPermanent(err error) error {
	var pe *hub.PermanentError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fallback plans the next reachable channel after a failed delivery.
func (s *Service) fallback(ctx context.Context, a hub.Actor, d *hub.Delivery) error {
	if len(d.Fallbacks) == 0 {
		return s.ended(ctx, d)
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return err
	}
	if ch, _ := p.FirstReachable(d.Kind, d.Fallbacks, s.Now()); ch == "" {
		return s.ended(ctx, d)
	}
	next, err := s.Plan(ctx, a, p, d.NoticeID, d.Kind, d.Fallbacks)
	if err != nil {
		return err
	}
	s.log.Info("falling back to the next channel", "delivery", d.ID, "next", next.ID, "channel", next.Channel)
	return nil
}

// channelFor picks the channel that carries m. This is the one place that
// decides "no provider → outbox": test-key deliveries, a channel this
// process has no sender for, and a provider the practice has not
// configured (hub.Configurer) all go to the outbox, so a practice that only
// uses the portal loses nothing and can see what would have gone out.
func (s *Service) channelFor(d *hub.Delivery, m *hub.Message) hub.Channel {
	outbox := s.channels[hub.ChannelOutbox]
	if d.Mode == hub.ModeTest {
		return outbox
	}
	c := s.channels[d.Channel]
	if c == nil {
		return outbox
	}
	if cf, ok := c.(hub.Configurer); ok && !cf.Configured(m) {
		return outbox
	}
	return c
}

// compose loads what a delivery carries and renders it for its channel,
// with the practice's settings for that channel. Problems no retry can
// mend (no address, opted out) are permanent. riders are the deliveries
// riding along in d (a digest).
func (s *Service) compose(ctx context.Context, d *hub.Delivery) (m *hub.Message, riders []hub.Delivery, err error) {
	pr, err := s.practices.Practice(ctx, d.PracticeID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return nil, nil, err
	}
	m = &hub.Message{Delivery: d, Practice: pr, Patient: p}
	if p.OptedOutOf(d.Kind, d.Channel) {
		return nil, nil, hub.Permanentf("opted_out", "the patient opted out of %s on %s", d.Kind, d.Channel)
	}
	switch d.Channel {
	case hub.ChannelSMS:
		if m.To = p.Address(hub.ChannelSMS, s.Now()); m.To == "" {
			return nil, nil, hub.Permanentf("no_address", "the patient has no mobile number")
		}
		if p.SMSOptOut != nil {
			return nil, nil, hub.Permanentf("opted_out", "the number texted STOP on %s", p.SMSOptOut.Format(time.DateOnly))
		}
		if m.SMS, err = s.settings.SMS(ctx, d.PracticeID); err != nil {
			return nil, nil, fmt.Errorf("delivery: sms settings: %w", err)
		}
	case hub.ChannelEmail:
		if m.To = p.Address(hub.ChannelEmail, s.Now()); m.To == "" {
			return nil, nil, hub.Permanentf("no_address", "the patient has no email address")
		}
		if p.EmailOptOut != nil {
			return nil, nil, hub.Permanentf("opted_out", "the address unsubscribed or bounced on %s", p.EmailOptOut.Format(time.DateOnly))
		}
		if m.Email, err = s.settings.Email(ctx, d.PracticeID); err != nil {
			return nil, nil, fmt.Errorf("delivery: email settings: %w", err)
		}
	}
	f := templating.Facts{TimeZone: pr.TimeZone, Facts: templates.Facts{PatientFirstName: p.GivenName,
		PracticeName: pr.Name, PracticePhone: pr.Phone, PortalURL: s.portal}}
	if p.GuardianReceives(s.Now()) {
		f.GuardianName = p.Guardian.Name
	}
	switch d.Kind {
	case hub.KindSecureMessageNotice:
		sm, err := s.store.GetMessage(ctx, d.PracticeID, d.NoticeID)
		if err != nil {
			return nil, nil, err
		}
		m.ThreadID = sm.ThreadID
		if d.Channel == hub.ChannelEmail && p.EncryptedEmail {
			m.Ciphertext = sm.Ciphertext // PGP/MIME: the patient reads it in their mail program
		}
	default:
		n, err := s.store.GetNotice(ctx, d.PracticeID, d.NoticeID)
		if errors.Is(err, hub.ErrNoRows) {
			return nil, nil, hub.Permanentf("unknown_record", "delivery of kind %q names no notice", d.Kind)
		}
		if err != nil {
			return nil, nil, err
		}
		f.Text = n.Text
		if d.Kind == hub.KindNotice && (d.Channel == hub.ChannelSMS || d.Channel == hub.ChannelEmail) {
			if riders, err = s.gatherDigest(ctx, d, &f); err != nil {
				return nil, nil, err
			}
		}
		if nd := n.Data; nd != nil {
			f.Start, f.Clinician, f.Location = nd.Start, nd.Clinician, nd.Location
			f.Pharmacy, f.Pickup, f.CollectBy = nd.Pharmacy, nd.Pickup, nd.CollectBy
			f.AsksConfirmation = nd.AsksConfirmation
		}
		m.Unsubscribable = d.Kind == hub.KindNotice
	}
	r, err := s.render.Render(ctx, d.PracticeID, d.Kind, d.Channel, p.Locale, f)
	if err != nil {
		return nil, nil, err
	}
	if r.Version != d.TemplateVersion { // record the wording this attempt sends
		if err := s.store.SetDeliveryTemplateVersion(ctx, d.ID, r.Version); err != nil {
			return nil, nil, err
		}
		d.TemplateVersion = r.Version
	}
	m.Subject, m.Text, m.HTML = r.Subject, r.Text, r.HTML
	return m, riders, nil
}

// DeliveryStatus records provider feedback about a sent delivery: Twilio
// status callbacks, bounces. Repeated feedback is harmless. A delivery that
// did not reach the patient falls back to the next channel.
func (s *Service) DeliveryStatus(ctx context.Context, practiceID string, u hub.StatusUpdate) error {
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var d *hub.Delivery
		var err error
		if u.DeliveryID != "" {
			d, err = s.store.GetDelivery(ctx, practiceID, u.DeliveryID)
		} else {
			d, err = s.store.FindDeliveryByProviderID(ctx, u.Channel, u.ProviderID)
		}
		if errors.Is(err, hub.ErrNoRows) || err == nil && practiceID != "" && d.PracticeID != practiceID {
			return hub.NotFound("delivery")
		}
		if err != nil {
			return err
		}
		if !statusMoves(d.State, u.State) {
			return nil
		}
		if u.Recipients != nil {
			p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
			if err != nil {
				return err
			}
			if !reportedFor(p, u.Recipients) {
				s.log.Info("bounce for an address that is neither the patient's nor the guardian's: ignored", "delivery", d.ID)
				return nil
			}
		}
		a := hub.Actor{PracticeID: d.PracticeID, ID: "provider:" + u.Channel, Mode: d.Mode}
		d.State = u.State
		d.Updated = s.Now()
		if u.ErrorCode != "" {
			d.LastError = "provider error " + u.ErrorCode
		}
		if err := s.store.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, a, "delivery."+string(u.State), d.PatientID, d.ID); err != nil {
			return err
		}
		if u.State == hub.StateBounced && u.Permanent {
			if p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID); err == nil && p.EmailOptOut == nil {
				t := s.Now()
				p.EmailOptOut = &t
				if _, err := s.store.PutPatient(ctx, p); err != nil {
					return err
				}
				if err := s.audit.Record(ctx, a, "email.hard_bounce", p.ID, d.ID); err != nil {
					return err
				}
			}
		}
		if u.State != hub.StateDelivered {
			return s.fallback(ctx, a, d)
		}
		return nil
	})
}

// reportedFor reports whether one of a bounce's recipients is the
// patient's or guardian's email address.
func reportedFor(p *hub.Patient, recipients []string) bool {
	for _, r := range recipients {
		if p.Email != "" && strings.EqualFold(r, p.Email) ||
			p.Guardian != nil && p.Guardian.Email != "" && strings.EqualFold(r, p.Guardian.Email) {
			return true
		}
	}
	return false
}

// statusMoves says whether provider feedback may move a delivery from one
// state to another: feedback only follows a send, and a final failure is
// never undone by a late "delivered".
func statusMoves(from, to hub.DeliveryState) bool {
	switch from {
	case hub.StateSent:
		return to == hub.StateDelivered || to == hub.StateUndelivered || to == hub.StateFailed || to == hub.StateBounced
	case hub.StateDelivered:
		return to == hub.StateBounced
	}
	return false
}

// ended reports a delivery that failed with no channel left to try
// (delivery.failed). The reason is the code only, never a provider's
// text (which may quote an address).
func (s *Service) ended(ctx context.Context, d *hub.Delivery) error {
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return err
	}
	reason, _, _ := strings.Cut(d.LastError, ":")
	return s.hooks.Emit(ctx, d.PracticeID, hub.WebhookDeliveryFailed, map[string]any{
		"delivery": d.ID, "notice": d.NoticeID, "kind": d.Kind, "patient": p.ExternalID, "channel": d.Channel,
		"state": d.State, "reason": reason,
	})
}
