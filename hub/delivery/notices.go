package delivery

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/karerehub/karere/hub"
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

// SubmitNotice records a notice and its first delivery, and queues it.
func (s *Service) SubmitNotice(ctx context.Context, a hub.Actor, in NoticeInput) (*hub.Notice, []hub.Delivery, error) {
	if in.Patient == "" {
		return nil, nil, hub.Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if err := hub.CheckExternalID("patient", in.Patient); err != nil {
		return nil, nil, err
	}
	text := strings.TrimSpace(in.Text)
	if text == "" {
		return nil, nil, hub.Invalid("text", "missing_field", "text: required")
	}
	if utf8.RuneCountInString(text) > MaxNoticeText || !utf8.ValidString(text) {
		return nil, nil, hub.Invalid("text", "text_too_long", "text: at most %d characters of UTF-8", MaxNoticeText)
	}
	if in.Channels != nil && len(in.Channels) == 0 {
		return nil, nil, hub.Invalid("channels", "invalid_channel", "channels: give at least one channel, or leave it out to use the patient's preferred order")
	}
	if err := hub.CheckChannels("channels", in.Channels); err != nil {
		return nil, nil, err
	}
	var n *hub.Notice
	var ds []hub.Delivery
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, in.Patient)
		if err != nil {
			return err
		}
		chans := in.Channels
		if chans == nil {
			chans = p.Channels
		}
		n = &hub.Notice{ID: hub.NewID(hub.PrefixNotice), PracticeID: a.PracticeID, PatientID: p.ID, Kind: hub.KindNotice,
			Text: text, Channels: chans, Mode: a.Mode, Created: s.Now()}
		if err := s.store.CreateNotice(ctx, n); err != nil {
			return err
		}
		d, err := s.planNoticeDelivery(ctx, a, p, n)
		if err != nil {
			return err
		}
		ds = append(ds, *d)
		return s.audit.Record(ctx, a, "notice.create", p.ID, n.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return n, ds, nil
}

// Plan creates, in the transaction ctx carries, the pending delivery of
// record recordID (a notice, or a secure message for its notice) of kind
// for the first channel in chans that the patient can be reached on; the
// others become its fallbacks. It is queued after commit. None reachable
// is hub.KindUnprocessable "opted_out" or "no_reachable_channel".
func (s *Service) Plan(ctx context.Context, a hub.Actor, p *hub.Patient, recordID, kind string, chans []string) (*hub.Delivery, error) {
	ch, rest := p.FirstReachable(kind, chans, s.Now())
	if ch == "" {
		if len(chans) > 0 && p.OptedOutOfAll(kind, chans) {
			return nil, hub.Unprocessable("channels", "opted_out",
				"the patient has opted out of %s on %s", kind, strings.Join(chans, ", "))
		}
		return nil, hub.Unprocessable("channels", "no_reachable_channel",
			"channels: the patient has no phone or email for any of %s", strings.Join(chans, ", "))
	}
	now := s.Now()
	d := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), PracticeID: p.PracticeID, PatientID: p.ID, NoticeID: recordID,
		Channel: ch, Kind: kind, Mode: a.Mode, State: hub.StatePending, Fallbacks: rest, Created: now, Updated: now}
	if d.Mode == "" {
		d.Mode = hub.ModeLive
	}
	if err := s.store.CreateDelivery(ctx, d); err != nil {
		return nil, err
	}
	s.enqueueAfterCommit(ctx, d)
	return d, nil
}

// firstReachable returns the first channel the patient has an address for
// and has not opted out of for kind, and the channels after it.
func firstReachable(p *hub.Patient, kind string, chans []string, now time.Time) (string, []string) {
	for i, c := range chans {
		if p.OptedOutOf(kind, c) {
			continue
		}
		if p.Address(c, now) != "" || c == hub.ChannelPortal {
			return c, append([]string(nil), chans[i+1:]...)
		}
	}
	return "", nil
}

// addressFor returns where a channel reaches the patient: the guardian's
// number or address when the guardian receives the patient's notices.
func addressFor(p *hub.Patient, channel string, now time.Time) string {
	g := p.GuardianReceives(now)
	switch channel {
	case hub.ChannelSMS:
		if g {
			return p.Guardian.Phone
		}
		return p.Phone
	case hub.ChannelEmail:
		if g {
			return p.Guardian.Email
		}
		return p.Email
	}
	return ""
}

func allOptedOut(p *hub.Patient, kind string, chans []string) bool {
	for _, c := range chans {
		if !p.OptedOutOf(kind, c) {
			return false
		}
	}
	return true
}
