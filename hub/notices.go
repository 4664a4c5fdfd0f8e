package hub

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// NoticeInput is the body of POST /v1/notices.
type NoticeInput struct {
	Patient  string   `json:"patient"`
	Text     string   `json:"text"`
	Channels []string `json:"channels"`
}

// MaxNoticeText bounds a notice's text (ten SMS segments of UCS-2 is 670;
// email and portal notices may be longer).
const MaxNoticeText = 2000

// Kinds of delivery.
const (
	KindNotice              = "notice"
	KindSecureMessageNotice = "secure_message_notice"
)

// SubmitNotice records a notice and its first delivery, and queues it.
func (s *Service) SubmitNotice(ctx context.Context, a Actor, in NoticeInput) (*Notice, []Delivery, error) {
	if in.Patient == "" {
		return nil, nil, Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if err := CheckExternalID("patient", in.Patient); err != nil {
		return nil, nil, err
	}
	text := strings.TrimSpace(in.Text)
	if text == "" {
		return nil, nil, Invalid("text", "missing_field", "text: required")
	}
	if utf8.RuneCountInString(text) > MaxNoticeText || !utf8.ValidString(text) {
		return nil, nil, Invalid("text", "text_too_long", "text: at most %d characters of UTF-8", MaxNoticeText)
	}
	if in.Channels != nil && len(in.Channels) == 0 {
		return nil, nil, Invalid("channels", "invalid_channel", "channels: give at least one channel, or leave it out to use the patient's preferred order")
	}
	if err := CheckChannels("channels", in.Channels); err != nil {
		return nil, nil, err
	}
	var n *Notice
	var ds []Delivery
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		p, err := s.patient(ctx, tx, a.PracticeID, in.Patient)
		if err != nil {
			return err
		}
		chans := in.Channels
		if chans == nil {
			chans = p.Channels
		}
		n = &Notice{ID: NewID(PrefixNotice), PracticeID: a.PracticeID, PatientID: p.ID, Kind: KindNotice,
			Text: text, Channels: chans, Mode: a.Mode, Created: s.Now()}
		if err := tx.CreateNotice(ctx, n); err != nil {
			return err
		}
		d, err := s.planNoticeDelivery(ctx, tx, a, p, n)
		if err != nil {
			return err
		}
		ds = append(ds, *d)
		return s.audit(ctx, tx, a, "notice.create", p.ID, n.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return n, ds, nil
}

// planDelivery creates the pending delivery for the first channel in
// chans that the patient can be reached on; the others become its
// fallbacks. It is queued after commit.
func (s *Service) planDelivery(ctx context.Context, tx Store, a Actor, p *Patient, recordID, kind string, chans []string) (*Delivery, error) {
	ch, rest := firstReachable(p, kind, chans, s.Now())
	if ch == "" {
		if len(chans) > 0 && allOptedOut(p, kind, chans) {
			return nil, Unprocessable("channels", "opted_out",
				"the patient has opted out of %s on %s", kind, strings.Join(chans, ", "))
		}
		return nil, Unprocessable("channels", "no_reachable_channel",
			"channels: the patient has no phone or email for any of %s", strings.Join(chans, ", "))
	}
	now := s.Now()
	d := &Delivery{ID: NewID(PrefixDelivery), PracticeID: p.PracticeID, PatientID: p.ID, NoticeID: recordID,
		Channel: ch, Kind: kind, Mode: a.Mode, State: StatePending, Fallbacks: rest, Created: now, Updated: now}
	if d.Mode == "" {
		d.Mode = ModeLive
	}
	if err := tx.CreateDelivery(ctx, d); err != nil {
		return nil, err
	}
	s.enqueueAfterCommit(ctx, d)
	return d, nil
}

// firstReachable returns the first channel the patient has an address for
// and has not opted out of for kind, and the channels after it.
func firstReachable(p *Patient, kind string, chans []string, now time.Time) (string, []string) {
	for i, c := range chans {
		if p.OptedOutOf(kind, c) {
			continue
		}
		if addressFor(p, c, now) != "" || c == ChannelPortal {
			return c, append([]string(nil), chans[i+1:]...)
		}
	}
	return "", nil
}

// addressFor returns where a channel reaches the patient: the guardian's
// number or address when the guardian receives the patient's notices.
func addressFor(p *Patient, channel string, now time.Time) string {
	g := p.GuardianReceives(now)
	switch channel {
	case ChannelSMS:
		if g {
			return p.Guardian.Phone
		}
		return p.Phone
	case ChannelEmail:
		if g {
			return p.Guardian.Email
		}
		return p.Email
	}
	return ""
}

func allOptedOut(p *Patient, kind string, chans []string) bool {
	for _, c := range chans {
		if !p.OptedOutOf(kind, c) {
			return false
		}
	}
	return true
}
