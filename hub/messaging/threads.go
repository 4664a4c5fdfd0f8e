package messaging

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/pgp"
)

// Secure messaging defaults.
const (
	// DefaultMaxMessageBytes bounds one OpenPGP message (attachments go
	// inside the encryption, so this is generous).
	DefaultMaxMessageBytes = 10 << 20
	// DefaultNoticeWindow: at most one "you have a new secure message"
	// notice per thread in this window, so a busy thread is no SMS storm.
	DefaultNoticeWindow = 15 * time.Minute
	// MaxMessageBody bounds the HTTP body of a posted message: the binary
	// limit once ASCII-armored (base64 adds a third, plus headers and line
	// ends). Inspect then holds the dearmored message to
	// DefaultMaxMessageBytes.
	MaxMessageBody = DefaultMaxMessageBytes/3*4 + DefaultMaxMessageBytes/64*2 + 4096
	// MaxReplyText bounds a plaintext reply arriving by SMS or email.
	MaxReplyText = 64 << 10
)

// Sender kinds of a secure message.
const (
	SenderPatient = "patient"
	SenderStaff   = "staff"
)

var categoryRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ThreadInput is the body of POST /v1/threads.
type ThreadInput struct {
	Patient  string `json:"patient"`
	Category string `json:"category"`
}

// CreateThread opens a thread with a patient. The patient and the
// practice must both have keys, or nobody could read its messages.
func (s *Service) CreateThread(ctx context.Context, a hub.Actor, in ThreadInput) (*hub.Thread, error) {
	if in.Patient == "" {
		return nil, hub.Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if in.Category == "" {
		in.Category = "general"
	}
	if !categoryRe.MatchString(in.Category) {
		return nil, hub.Invalid("category", "invalid_category", "category: lower-case letters, digits, '_' or '-', up to 40")
	}
	var t *hub.Thread
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, in.Patient)
		if err != nil {
			return err
		}
		if _, err := s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerPatient, p.ID); errors.Is(err, hub.ErrNoRows) {
			return hub.ErrNoPatientKey
		} else if err != nil {
			return err
		}
		if _, err := s.store.CurrentKey(ctx, a.PracticeID, hub.OwnerTeam, a.PracticeID); errors.Is(err, hub.ErrNoRows) {
			return hub.ErrNoTeamKey
		} else if err != nil {
			return err
		}
		now := s.Now()
		t = &hub.Thread{ID: hub.NewID(hub.PrefixThread), PracticeID: a.PracticeID, PatientID: p.ID, Category: in.Category,
			Status: hub.ThreadOpen, Created: now, LastActivity: now}
		if err := s.store.CreateThread(ctx, t); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "thread.create", p.ID, t.ID)
	})
	return t, err
}

func (s *Service) thread(ctx context.Context, practiceID, id string) (*hub.Thread, error) {
	t, err := s.store.GetThread(ctx, practiceID, id)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.NotFound("thread")
	}
	return t, err
}

// GetThread reads a thread and its patient.
func (s *Service) GetThread(ctx context.Context, a hub.Actor, id string) (*hub.Thread, *hub.Patient, error) {
	t, err := s.thread(ctx, a.PracticeID, id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetPatientByID(ctx, a.PracticeID, t.PatientID)
	return t, p, err
}

// ListThreads lists the practice's threads, most recent activity first.
// patientExternalID, when set, narrows to one patient.
func (s *Service) ListThreads(ctx context.Context, a hub.Actor, patientExternalID string, f hub.ThreadFilter) ([]hub.Thread, map[string]*hub.Patient, error) {
	f.PracticeID = a.PracticeID
	if f.Status != "" && f.Status != hub.ThreadOpen && f.Status != hub.ThreadClosed {
		return nil, nil, hub.Invalid("status", "invalid_status", "status: open or closed")
	}
	if patientExternalID != "" {
		p, err := s.patient(ctx, a.PracticeID, patientExternalID)
		if err != nil {
			return nil, nil, err
		}
		f.PatientID = p.ID
	}
	ts, err := s.store.ListThreads(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	ps := map[string]*hub.Patient{}
	for _, t := range ts {
		if ps[t.PatientID] != nil {
			continue
		}
		p, err := s.store.GetPatientByID(ctx, a.PracticeID, t.PatientID)
		if err != nil {
			return nil, nil, err
		}
		ps[t.PatientID] = p
	}
	return ts, ps, nil
}

// Sender says who posts a secure message.
type Sender struct {
	Kind string // SenderPatient or SenderStaff
	ID   string // staff id for staff; ignored for the patient (the thread's)
}

// ParseSender reads "patient" or "staff:<id>".
func ParseSender(s string) (Sender, error) {
	switch {
	case s == SenderPatient:
		return Sender{Kind: SenderPatient}, nil
	case strings.HasPrefix(s, SenderStaff+":") && len(s) > len(SenderStaff)+1:
		return Sender{Kind: SenderStaff, ID: s[len(SenderStaff)+1:]}, nil
	}
	return Sender{}, hub.Invalid("sender", "invalid_sender", "sender: \"patient\" or \"staff:<staff id>\"")
}

// PostMessage stores a secure message after checking, without decrypting,
// that it is an OpenPGP message encrypted to the thread's patient and to
// the practice team key (and to no one else but the sending staff member).
// A message from staff sends the patient a content-free notice.
func (s *Service) PostMessage(ctx context.Context, a hub.Actor, threadID string, from Sender, body []byte) (*hub.SecureMessage, error) {
	if a.StaffID != "" {
		from = Sender{Kind: SenderStaff, ID: a.StaffID}
	}
	env, err := pgp.Inspect(bytes.NewReader(body), DefaultMaxMessageBytes)
	if err != nil {
		return nil, pgpError("message", err)
	}
	var m *hub.SecureMessage
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		t, err := s.thread(ctx, a.PracticeID, threadID)
		if err != nil {
			return err
		}
		required, err := s.threadRecipients(ctx, t)
		if err != nil {
			return err
		}
		var allowed []*pgp.PublicKey
		senderID := t.PatientID
		if from.Kind == SenderStaff {
			st, err := s.store.GetStaff(ctx, a.PracticeID, from.ID)
			if errors.Is(err, hub.ErrNoRows) {
				return hub.Invalid("sender", "unknown_staff", "sender: no such staff member in this practice")
			}
			if err != nil {
				return err
			}
			senderID = st.ID
			if pub, _, err := s.currentPublic(ctx, a.PracticeID, hub.OwnerStaff, st.ID); err == nil {
				allowed = append(allowed, pub)
			}
		}
		// A client that fetched the keys just before a rotation may still
		// encrypt to the superseded ones: accept those for keyAge.
		allowed = append(allowed, s.recentlySuperseded(ctx, t)...)
		if err := pgp.CheckRecipients(env, required, allowed...); err != nil {
			return pgpError("message", err)
		}
		m = &hub.SecureMessage{ID: hub.NewID(hub.PrefixMessage), PracticeID: a.PracticeID, ThreadID: t.ID, SenderKind: from.Kind,
			SenderID: senderID, Ciphertext: env.Binary, Size: len(env.Binary), Via: "portal", Created: s.Now()}
		return s.addMessage(ctx, a, t, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// threadRecipients are the keys every message of the thread must be
// encrypted to: the patient's and the team's current keys.
func (s *Service) threadRecipients(ctx context.Context, t *hub.Thread) ([]pgp.Recipient, error) {
	patient, _, err := s.currentPublic(ctx, t.PracticeID, hub.OwnerPatient, t.PatientID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.ErrNoPatientKey
	}
	if err != nil {
		return nil, pgpError("patient_key", err)
	}
	team, _, err := s.currentPublic(ctx, t.PracticeID, hub.OwnerTeam, t.PracticeID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.ErrNoTeamKey
	}
	if err != nil {
		return nil, pgpError("team_key", err)
	}
	return []pgp.Recipient{{Role: pgp.RolePatient, Key: patient}, {Role: pgp.RoleTeam, Key: team}}, nil
}

// addMessage stores m, updates the thread's counters and, for a message
// from staff, plans the patient's notice.
func (s *Service) addMessage(ctx context.Context, a hub.Actor, t *hub.Thread, m *hub.SecureMessage) error {
	if err := s.store.AddMessage(ctx, m); err != nil {
		return err
	}
	t.LastActivity = m.Created
	t.LastSender = m.SenderKind
	if m.SenderKind == SenderPatient {
		t.StaffUnread++
		t.Status = hub.ThreadOpen // a patient writing reopens a closed thread
	} else {
		t.PatientUnread++
	}
	notify := m.SenderKind == SenderStaff && (t.LastNoticeAt == nil || m.Created.Sub(*t.LastNoticeAt) >= DefaultNoticeWindow)
	if notify {
		at := m.Created
		t.LastNoticeAt = &at
	}
	if err := s.store.UpdateThread(ctx, t); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, a, "message.create", t.PatientID, m.ID); err != nil {
		return err
	}
	if notify {
		p, err := s.store.GetPatientByID(ctx, t.PracticeID, t.PatientID)
		if err != nil {
			return err
		}
		na := hub.Actor{PracticeID: t.PracticeID, ID: a.ID, Mode: a.Mode}
		if _, err := s.plan.Plan(ctx, na, p, m.ID, hub.KindSecureMessageNotice, p.Channels); err != nil {
			var e *hub.Error
			if errors.As(err, &e) && e.Code == "no_reachable_channel" {
				return nil // the portal inbox page shows unread threads anyway
			}
			return err
		}
	}
	hub.AfterCommit(ctx, func(context.Context) {
		s.events.Publish(hub.Event{Type: hub.EventMessage, PracticeID: t.PracticeID, ThreadID: t.ID, ID: m.ID})
	})
	return nil
}

// ListMessages lists a thread's messages, oldest first (audited).
func (s *Service) ListMessages(ctx context.Context, a hub.Actor, threadID, afterID string, limit int) (*hub.Thread, []hub.SecureMessage, error) {
	var t *hub.Thread
	var ms []hub.SecureMessage
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var err error
		if t, err = s.thread(ctx, a.PracticeID, threadID); err != nil {
			return err
		}
		if ms, err = s.store.ListMessages(ctx, a.PracticeID, t.ID, afterID, limit); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "thread.read_messages", t.PatientID, t.ID)
	})
	return t, ms, err
}

// MarkThreadRead resets one side's unread count: "patient" (the portal
// read it) or "staff".
func (s *Service) MarkThreadRead(ctx context.Context, a hub.Actor, threadID, reader string) (*hub.Thread, error) {
	if a.StaffID != "" {
		reader = SenderStaff
	}
	if reader != SenderPatient && reader != SenderStaff {
		return nil, hub.Invalid("reader", "invalid_reader", "reader: patient or staff")
	}
	var t *hub.Thread
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var err error
		if t, err = s.thread(ctx, a.PracticeID, threadID); err != nil {
			return err
		}
		if reader == SenderPatient {
			t.PatientUnread = 0
		} else {
			t.StaffUnread = 0
		}
		if err := s.store.UpdateThread(ctx, t); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "thread.mark_read."+reader, t.PatientID, t.ID)
	})
	if err == nil {
		s.events.Publish(hub.Event{Type: hub.EventThread, PracticeID: t.PracticeID, ThreadID: t.ID})
	}
	return t, err
}

// ThreadPatch changes a thread's status, assignment or category.
type ThreadPatch struct {
	Status     *string `json:"status"`
	AssignedTo *string `json:"assigned_to"`
	Category   *string `json:"category"`
}

// UpdateThread applies a patch and returns the thread and its patient.
func (s *Service) UpdateThread(ctx context.Context, a hub.Actor, threadID string, p ThreadPatch) (*hub.Thread, *hub.Patient, error) {
	var t *hub.Thread
	var pt *hub.Patient
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var err error
		if t, err = s.thread(ctx, a.PracticeID, threadID); err != nil {
			return err
		}
		if p.Status != nil {
			if *p.Status != hub.ThreadOpen && *p.Status != hub.ThreadClosed {
				return hub.Invalid("status", "invalid_status", "status: open or closed")
			}
			t.Status = *p.Status
		}
		if p.AssignedTo != nil {
			if *p.AssignedTo != "" {
				if _, err := s.store.GetStaff(ctx, a.PracticeID, *p.AssignedTo); errors.Is(err, hub.ErrNoRows) {
					return hub.Invalid("assigned_to", "unknown_staff", "assigned_to: no such staff member in this practice")
				} else if err != nil {
					return err
				}
			}
			t.AssignedTo = *p.AssignedTo
		}
		if p.Category != nil {
			if !categoryRe.MatchString(*p.Category) {
				return hub.Invalid("category", "invalid_category", "category: lower-case letters, digits, '_' or '-', up to 40")
			}
			t.Category = *p.Category
		}
		if err := s.store.UpdateThread(ctx, t); err != nil {
			return err
		}
		if pt, err = s.store.GetPatientByID(ctx, a.PracticeID, t.PatientID); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "thread.update", t.PatientID, t.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	s.events.Publish(hub.Event{Type: hub.EventThread, PracticeID: t.PracticeID, ThreadID: t.ID})
	return t, pt, nil
}

// ReceiveReply takes a patient's reply that arrived by SMS or email and
// stores it in the right thread: the one an email reply token names, else
// the patient's most recent open thread, else a new one. Plaintext is
// encrypted on arrival to the thread's keys (patient and team) and
// dropped; an already encrypted (PGP/MIME) reply is checked and stored as
// it is. A ProviderID seen before is not stored again.
func (s *Service) ReceiveReply(ctx context.Context, in hub.InboundText) (hub.ReplyResult, error) {
	var res hub.ReplyResult
	if in.Ciphertext == nil {
		if !utf8.ValidString(in.Text) {
			in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
		}
		in.Text = strings.TrimSpace(in.Text)
		if in.Text == "" {
			return res, hub.Invalid("text", "empty_reply", "the reply has no text")
		}
		if len(in.Text) > MaxReplyText {
			return res, hub.ErrTooLarge
		}
	}
	a := hub.Actor{PracticeID: in.PracticeID, ID: "inbound:" + in.Via}
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		t, err := s.replyThread(ctx, &in)
		if err != nil {
			return err
		}
		a.PracticeID = t.PracticeID
		patient, team, err := s.replyKeys(ctx, t)
		if err != nil {
			return err
		}
		m := &hub.SecureMessage{ID: hub.NewID(hub.PrefixMessage), PracticeID: t.PracticeID, ThreadID: t.ID, SenderKind: SenderPatient,
			SenderID: t.PatientID, Via: in.Via, ProviderID: in.ProviderID, Created: s.Now()}
		if in.Via == hub.ChannelEmail {
			if m.SenderUnverified, err = s.senderUnverified(ctx, t, in.From); err != nil {
				return err
			}
		}
		if in.Ciphertext != nil {
			env, err := pgp.Inspect(bytes.NewReader(in.Ciphertext), DefaultMaxMessageBytes)
			if err != nil {
				return pgpError("message", err)
			}
			var allowed []*pgp.PublicKey
			if patient != nil {
				allowed = append(allowed, patient)
			}
			if err := pgp.CheckRecipients(env, []pgp.Recipient{{Role: pgp.RoleTeam, Key: team}}, allowed...); err != nil {
				return pgpError("message", err)
			}
			m.Ciphertext = env.Binary
		} else {
			to := []*pgp.PublicKey{team}
			if patient != nil {
				to = append(to, patient)
			}
			sealed, err := pgp.Seal([]byte(in.Text), to...)
			if err != nil {
				return err
			}
			m.Ciphertext, m.ArrivedUnencrypted = sealed, true
		}
		m.Size = len(m.Ciphertext)
		err = s.addMessage(ctx, a, t, m)
		if errors.Is(err, hub.ErrConflict) {
			res.Duplicate = true
			return errDuplicate
		}
		res.ThreadID, res.MessageID = t.ID, m.ID
		return err
	})
	in.Text = "" // the plaintext goes no further
	if errors.Is(err, errDuplicate) {
		return res, nil
	}
	return res, err
}

var errDuplicate = errors.New("messaging: duplicate inbound message")

// senderUnverified reports whether an email reply's From address is
// neither the patient's nor their guardian's. The reply token in the
// address it was sent to is genuine (the hub made it), so the reply is
// kept rather than refused: a patient may answer from another account,
// or a family member the notice was forwarded to may answer. But staff
// must not take it for the patient's own words, so it is stored flagged
// and the inbox and the API show the flag. (A From header can be forged;
// the flag catches honest mismatches, not a forger who knows the
// patient's address.)
func (s *Service) senderUnverified(ctx context.Context, t *hub.Thread, from string) (bool, error) {
	p, err := s.store.GetPatientByID(ctx, t.PracticeID, t.PatientID)
	if err != nil {
		return false, err
	}
	from = strings.TrimSpace(from)
	switch {
	case from == "":
		return true, nil
	case p.Email != "" && strings.EqualFold(from, p.Email):
		return false, nil
	case p.Guardian != nil && p.Guardian.Email != "" && strings.EqualFold(from, p.Guardian.Email):
		return false, nil
	}
	s.log.Info("email reply from an address that is neither the patient's nor the guardian's: stored flagged sender_unverified",
		"thread", t.ID)
	return true, nil
}

// replyThread finds (or opens) the thread an inbound reply belongs to.
func (s *Service) replyThread(ctx context.Context, in *hub.InboundText) (*hub.Thread, error) {
	switch {
	case in.ThreadID != "":
		t, err := s.store.GetThread(ctx, in.PracticeID, in.ThreadID)
		if errors.Is(err, hub.ErrNoRows) && in.PracticeID == "" {
			return nil, hub.NotFound("thread")
		}
		if err != nil {
			return nil, err
		}
		in.PracticeID = t.PracticeID
		return t, nil
	case in.DeliveryID != "":
		d, err := s.store.GetDelivery(ctx, in.PracticeID, in.DeliveryID)
		if errors.Is(err, hub.ErrNoRows) {
			return nil, hub.NotFound("delivery")
		}
		if err != nil {
			return nil, err
		}
		in.PracticeID = d.PracticeID
		return s.openThreadFor(ctx, d.PracticeID, d.PatientID)
	case in.Via == hub.ChannelSMS:
		ps, err := s.store.FindPatientsByPhone(ctx, in.PracticeID, in.From)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return nil, &hub.Error{Kind: hub.KindNotFound, Code: "unknown_sender", Message: "no patient of the practice has this number"}
		}
		// A shared family number: the patient with the latest open thread.
		var best *hub.Thread
		for _, p := range ps {
			t, err := s.store.LatestOpenThread(ctx, in.PracticeID, p.ID)
			if errors.Is(err, hub.ErrNoRows) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if best == nil || t.LastActivity.After(best.LastActivity) {
				best = t
			}
		}
		if best != nil {
			return best, nil
		}
		return s.openThreadFor(ctx, in.PracticeID, ps[0].ID)
	}
	return nil, hub.Invalid("", "unroutable_reply", "the reply names no thread, delivery or known sender")
}

// openThreadFor returns the patient's latest open thread, or opens one.
func (s *Service) openThreadFor(ctx context.Context, practiceID, patientID string) (*hub.Thread, error) {
	t, err := s.store.LatestOpenThread(ctx, practiceID, patientID)
	if err == nil || !errors.Is(err, hub.ErrNoRows) {
		return t, err
	}
	now := s.Now()
	t = &hub.Thread{ID: hub.NewID(hub.PrefixThread), PracticeID: practiceID, PatientID: patientID, Category: "reply",
		Status: hub.ThreadOpen, Created: now, LastActivity: now}
	if err := s.store.CreateThread(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// recentlySuperseded are the thread's patient and team keys superseded
// less than keyAge ago.
func (s *Service) recentlySuperseded(ctx context.Context, t *hub.Thread) []*pgp.PublicKey {
	var out []*pgp.PublicKey
	for _, o := range []struct{ kind, id string }{{hub.OwnerPatient, t.PatientID}, {hub.OwnerTeam, t.PracticeID}} {
		ks, err := s.store.ListKeys(ctx, t.PracticeID, o.kind, o.id)
		if err != nil {
			continue
		}
		for _, k := range ks {
			if k.Superseded == nil || s.Now().Sub(*k.Superseded) > keyAge {
				continue
			}
			if pub, err := pgp.ParsePublicKey(k.Armored, s.Now()); err == nil {
				out = append(out, pub)
			}
		}
	}
	return out
}

// replyKeys are the keys an inbound reply is sealed to: the team key
// (required: without it the reply could not be stored encrypted) and the
// patient's, when they have one (a patient who never used the portal has
// none; the practice can still read their reply).
func (s *Service) replyKeys(ctx context.Context, t *hub.Thread) (patient, team *pgp.PublicKey, err error) {
	team, _, err = s.currentPublic(ctx, t.PracticeID, hub.OwnerTeam, t.PracticeID)
	if errors.Is(err, hub.ErrNoRows) {
		s.log.Warn("reply dropped: the practice has no team key to encrypt it to", "practice", t.PracticeID)
		return nil, nil, hub.ErrNoTeamKey
	}
	if err != nil {
		return nil, nil, pgpError("team_key", err)
	}
	patient, _, err = s.currentPublic(ctx, t.PracticeID, hub.OwnerPatient, t.PatientID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, team, nil
	}
	if err != nil {
		return nil, nil, pgpError("patient_key", err)
	}
	return patient, team, nil
}
