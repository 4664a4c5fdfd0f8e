package hub

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	if errors.Is(err, ErrNoRows) {
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
	msg, err := s.compose(ctx, d)
	var rec Receipt
	if err == nil {
		ch := s.channelFor(d)
		if sc, ok := ch.(StoreChannel); ok {
			// Keeping and recording in one transaction: both or neither.
			if err = s.sendInTx(ctx, d, msg, sc); err == nil {
				return nil
			}
		} else {
			rec, err = ch.Send(ctx, msg)
		}
	}
	switch {
	case err == nil:
		return s.markSent(ctx, d, rec, msgMembers(msg))
	case IsPermanent(err):
		var pe *PermanentError
		errors.As(err, &pe)
		s.log.Info("delivery failed permanently", "delivery", d.ID, "channel", d.Channel, "reason", pe.Reason)
		return s.fail(ctx, d, StateFailed, pe.Reason, err, msgMembers(msg))
	case final:
		s.log.Warn("delivery failed: retries exhausted", "delivery", d.ID, "channel", d.Channel)
		if ferr := s.fail(ctx, d, StateFailed, "retries_exhausted", err, msgMembers(msg)); ferr != nil {
			return ferr
		}
		return fmt.Errorf("hub: delivery %s: retries exhausted: %w", d.ID, err)
	default:
		d.LastError = errorText("temporary", err)
		d.Updated = s.Now()
		if uerr := s.store.UpdateDelivery(context.WithoutCancel(ctx), d); uerr != nil {
			s.log.Warn("recording a temporary failure", "delivery", d.ID, "err", uerr)
		}
		return fmt.Errorf("hub: delivery %s: %w", d.ID, err)
	}
}

// errorText is what staff see as a delivery's last error.
func errorText(reason string, err error) string {
	msg := reason
	if err != nil {
		msg += ": " + err.Error()
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

func (s *Service) markSent(ctx context.Context, d *Delivery, rec Receipt, members []Delivery) error {
	ctx = context.WithoutCancel(ctx) // the send happened: record it even if the task is being cancelled
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		return s.recordSent(ctx, tx, d, rec, members)
	})
}

// sendInTx sends through a channel that only writes to the database, in
// the transaction that records the delivery sent.
func (s *Service) sendInTx(ctx context.Context, d *Delivery, m *Message, sc StoreChannel) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		rec, err := sc.SendInTx(ctx, tx, m)
		if err != nil {
			return err
		}
		return s.recordSent(ctx, tx, d, rec, msgMembers(m))
	})
}

// recordSent marks d sent (with its riders) and plans its escalation.
func (s *Service) recordSent(ctx context.Context, tx Store, d *Delivery, rec Receipt, members []Delivery) error {
	d.State = StateSent
	d.ProviderID = rec.ProviderID
	d.LastError = ""
	d.Updated = s.Now()
	if err := tx.UpdateDelivery(ctx, d); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, Actor{PracticeID: d.PracticeID, ID: "worker"}, "delivery.sent", d.PatientID, d.ID); err != nil {
		return err
	}
	if err := s.settleDigest(ctx, tx, d, members); err != nil {
		return err
	}
	return s.planEscalation(ctx, tx, d)
}

// fail marks d with a failed state and plans the next channel, if any.
func (s *Service) fail(ctx context.Context, d *Delivery, state DeliveryState, reason string, cause error, members []Delivery) error {
	ctx = context.WithoutCancel(ctx)
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		d.State = state
		d.LastError = errorText(reason, unwrapPermanent(cause))
		d.Updated = s.Now()
		if err := tx.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		a := Actor{PracticeID: d.PracticeID, ID: "worker", Mode: d.Mode}
		if err := s.audit(ctx, tx, a, "delivery."+string(state), d.PatientID, d.ID); err != nil {
			return err
		}
		if reason == "unsubscribed" && d.Channel == ChannelSMS {
			// The number texted STOP to the provider directly: honour it here too.
			if p, err := tx.GetPatientByID(ctx, d.PracticeID, d.PatientID); err == nil && p.SMSOptOut == nil {
				t := s.Now()
				p.SMSOptOut = &t
				if _, err := tx.PutPatient(ctx, p); err != nil {
					return err
				}
			}
		}
		if err := s.settleDigest(ctx, tx, d, members); err != nil {
			return err
		}
		return s.fallback(ctx, tx, a, d)
	})
}

func unwrapPermanent(err error) error {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fallback plans the next reachable channel after a failed delivery.
func (s *Service) fallback(ctx context.Context, tx Store, a Actor, d *Delivery) error {
	if len(d.Fallbacks) == 0 {
		return s.deliveryEnded(ctx, tx, d)
	}
	p, err := tx.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return err
	}
	if ch, _ := firstReachable(p, d.Kind, d.Fallbacks, s.Now()); ch == "" {
		return s.deliveryEnded(ctx, tx, d)
	}
	next, err := s.planDelivery(ctx, tx, a, p, d.NoticeID, d.Kind, d.Fallbacks)
	if err != nil {
		return err
	}
	s.log.Info("falling back to the next channel", "delivery", d.ID, "next", next.ID, "channel", next.Channel)
	return nil
}

// channelFor picks the channel that carries d: the outbox for test-key
// deliveries and for channels with no provider configured.
func (s *Service) channelFor(d *Delivery) Channel {
	if d.Mode == ModeTest {
		return s.channels[ChannelOutbox]
	}
	if c := s.channels[d.Channel]; c != nil {
		return c
	}
	return s.channels[ChannelOutbox]
}

// compose loads what a delivery carries and renders it for its channel.
// Problems no retry can mend (no address, opted out) are permanent.
func (s *Service) compose(ctx context.Context, d *Delivery) (*Message, error) {
	pr, err := s.practice(ctx, d.PracticeID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return nil, err
	}
	m := &Message{Delivery: d, Practice: pr, Patient: p}
	if p.OptedOutOf(d.Kind, d.Channel) {
		return nil, Permanentf("opted_out", "the patient opted out of %s on %s", d.Kind, d.Channel)
	}
	switch d.Channel {
	case ChannelSMS:
		if m.To = addressFor(p, ChannelSMS, s.Now()); m.To == "" {
			return nil, Permanentf("no_address", "the patient has no mobile number")
		}
		if p.SMSOptOut != nil {
			return nil, Permanentf("opted_out", "the number texted STOP on %s", p.SMSOptOut.Format(time.DateOnly))
		}
	case ChannelEmail:
		if m.To = addressFor(p, ChannelEmail, s.Now()); m.To == "" {
			return nil, Permanentf("no_address", "the patient has no email address")
		}
		if p.EmailOptOut != nil {
			return nil, Permanentf("opted_out", "the address unsubscribed or bounced on %s", p.EmailOptOut.Format(time.DateOnly))
		}
	}
	data := RenderData{PatientFirstName: p.GivenName, PracticeName: pr.Name, PracticePhone: pr.Phone,
		PortalURL: s.portal, TimeZone: pr.TimeZone}
	if p.GuardianReceives(s.Now()) {
		data.GuardianName = p.Guardian.Name
	}
	switch d.Kind {
	case KindSecureMessageNotice:
		sm, err := s.store.GetMessage(ctx, d.PracticeID, d.NoticeID)
		if err != nil {
			return nil, err
		}
		m.ThreadID = sm.ThreadID
		if d.Channel == ChannelEmail && p.EncryptedEmail {
			m.Ciphertext = sm.Ciphertext // PGP/MIME: the patient reads it in their mail program
		}
	default:
		n, err := s.store.GetNotice(ctx, d.PracticeID, d.NoticeID)
		if errors.Is(err, ErrNoRows) {
			return nil, Permanentf("unknown_record", "delivery of kind %q names no notice", d.Kind)
		}
		if err != nil {
			return nil, err
		}
		data.Text = n.Text
		if d.Kind == KindNotice && (d.Channel == ChannelSMS || d.Channel == ChannelEmail) {
			if err := s.gatherDigest(ctx, d, m, &data); err != nil {
				return nil, err
			}
		}
		if nd := n.Data; nd != nil {
			data.Start, data.Clinician, data.Location = nd.Start, nd.Clinician, nd.Location
			data.Pharmacy, data.Pickup, data.CollectBy = nd.Pharmacy, nd.Pickup, nd.CollectBy
			data.AsksConfirmation = nd.AsksConfirmation
		}
		m.Unsubscribable = d.Kind == KindNotice
	}
	r, err := s.renderFor(ctx, d, p, data)
	if err != nil {
		return nil, err
	}
	if r.Version != d.TemplateVersion { // record the wording this attempt sends
		if err := s.store.SetDeliveryTemplateVersion(ctx, d.ID, r.Version); err != nil {
			return nil, err
		}
		d.TemplateVersion = r.Version
	}
	m.Subject, m.Text, m.HTML = r.Subject, r.Text, r.HTML
	return m, nil
}

// DeliveryStatus records provider feedback about a sent delivery: Twilio
// status callbacks, bounces. Repeated feedback is harmless. A delivery that
// did not reach the patient falls back to the next channel.
func (s *Service) DeliveryStatus(ctx context.Context, practiceID string, u StatusUpdate) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var d *Delivery
		var err error
		if u.DeliveryID != "" {
			d, err = tx.GetDelivery(ctx, practiceID, u.DeliveryID)
		} else {
			d, err = tx.FindDeliveryByProviderID(ctx, u.Channel, u.ProviderID)
		}
		if errors.Is(err, ErrNoRows) || err == nil && practiceID != "" && d.PracticeID != practiceID {
			return NotFound("delivery")
		}
		if err != nil {
			return err
		}
		if !statusMoves(d.State, u.State) {
			return nil
		}
		a := Actor{PracticeID: d.PracticeID, ID: "provider:" + u.Channel, Mode: d.Mode}
		d.State = u.State
		d.Updated = s.Now()
		if u.ErrorCode != "" {
			d.LastError = "provider error " + u.ErrorCode
		}
		if err := tx.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, a, "delivery."+string(u.State), d.PatientID, d.ID); err != nil {
			return err
		}
		if u.State == StateBounced && u.Permanent {
			if p, err := tx.GetPatientByID(ctx, d.PracticeID, d.PatientID); err == nil && p.EmailOptOut == nil {
				t := s.Now()
				p.EmailOptOut = &t
				if _, err := tx.PutPatient(ctx, p); err != nil {
					return err
				}
				if err := s.audit(ctx, tx, a, "email.hard_bounce", p.ID, d.ID); err != nil {
					return err
				}
			}
		}
		if u.State != StateDelivered {
			return s.fallback(ctx, tx, a, d)
		}
		return nil
	})
}

// statusMoves says whether provider feedback may move a delivery from one
// state to another: feedback only follows a send, and a final failure is
// never undone by a late "delivered".
func statusMoves(from, to DeliveryState) bool {
	switch from {
	case StateSent:
		return to == StateDelivered || to == StateUndelivered || to == StateFailed || to == StateBounced
	case StateDelivered:
		return to == StateBounced
	}
	return false
}

// renderFor renders d's kind for its channel in the patient's locale.
func (s *Service) renderFor(ctx context.Context, d *Delivery, p *Patient, data RenderData) (Rendered, error) {
	if s.render == nil {
		r := Rendered{Subject: "Message from " + data.PracticeName, Text: data.Text}
		if d.Kind == KindSecureMessageNotice {
			r.Subject = "New secure message from " + data.PracticeName
			r.Text = "You have a new secure message from " + data.PracticeName + ". Sign in to your portal to read it."
		}
		return r, nil
	}
	r, err := s.render.Render(ctx, d.PracticeID, d.Kind, d.Channel, p.Locale, data)
	if err != nil && !IsPermanent(err) {
		return Rendered{}, fmt.Errorf("hub: render: %w", err) // reading the templates failed: retried
	}
	return r, err
}
