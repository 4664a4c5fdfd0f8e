package hub

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

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
func (s *Service) CreateThread(ctx context.Context, a Actor, in ThreadInput) (*Thread, error) {
	if in.Patient == "" {
		return nil, Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if in.Category == "" {
		in.Category = "general"
	}
	if !categoryRe.MatchString(in.Category) {
		return nil, Invalid("category", "invalid_category", "category: lower-case letters, digits, '_' or '-', up to 40")
	}
	var t *Thread
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		p, err := s.patient(ctx, tx, a.PracticeID, in.Patient)
		if err != nil {
			return err
		}
		if _, err := tx.CurrentKey(ctx, a.PracticeID, OwnerPatient, p.ID); errors.Is(err, ErrNoRows) {
			return Unprocessable("patient", "no_patient_key", "the patient has no key: the portal registers one at sign-up (PUT /v1/patients/{id}/key)")
		} else if err != nil {
			return err
		}
		if _, err := tx.CurrentKey(ctx, a.PracticeID, OwnerTeam, a.PracticeID); errors.Is(err, ErrNoRows) {
			return Unprocessable("", "no_team_key", "the practice has no team key yet (karere team init)")
		} else if err != nil {
			return err
		}
		now := s.Now()
		t = &Thread{ID: NewID(PrefixThread), PracticeID: a.PracticeID, PatientID: p.ID, Category: in.Category,
			Status: ThreadOpen, Created: now, LastActivity: now}
		if err := tx.CreateThread(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "thread.create", p.ID, t.ID)
	})
	return t, err
}

func (s *Service) thread(ctx context.Context, tx Store, practiceID, id string) (*Thread, error) {
	t, err := tx.GetThread(ctx, practiceID, id)
	if errors.Is(err, ErrNoRows) {
		return nil, NotFound("thread")
	}
	return t, err
}

// GetThread reads a thread and its patient.
func (s *Service) GetThread(ctx context.Context, a Actor, id string) (*Thread, *Patient, error) {
	t, err := s.thread(ctx, s.store, a.PracticeID, id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetPatientByID(ctx, a.PracticeID, t.PatientID)
	return t, p, err
}

// ListThreads lists the practice's threads, most recent activity first.
// patientExternalID, when set, narrows to one patient.
func (s *Service) ListThreads(ctx context.Context, a Actor, patientExternalID string, f ThreadFilter) ([]Thread, map[string]*Patient, error) {
	f.PracticeID = a.PracticeID
	if f.Status != "" && f.Status != ThreadOpen && f.Status != ThreadClosed {
		return nil, nil, Invalid("status", "invalid_status", "status: open or closed")
	}
	if patientExternalID != "" {
		p, err := s.patient(ctx, s.store, a.PracticeID, patientExternalID)
		if err != nil {
			return nil, nil, err
		}
		f.PatientID = p.ID
	}
	ts, err := s.store.ListThreads(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	ps := map[string]*Patient{}
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
	return Sender{}, Invalid("sender", "invalid_sender", "sender: \"patient\" or \"staff:<staff id>\"")
}

// PostMessage stores a secure message after checking, without decrypting,
// that it is an OpenPGP message encrypted to the thread's patient and to
// the practice team key (and to no one else but the sending staff member).
// A message from staff sends the patient a content-free notice.
func (s *Service) PostMessage(ctx context.Context, a Actor, threadID string, from Sender, body []byte) (*SecureMessage, error) {
	if a.StaffID != "" {
		from = Sender{Kind: SenderStaff, ID: a.StaffID}
	}
	env, err := pgp.Inspect(bytes.NewReader(body), DefaultMaxMessageBytes)
	if err != nil {
		return nil, pgpError("message", err)
	}
	var m *SecureMessage
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		t, err := s.thread(ctx, tx, a.PracticeID, threadID)
		if err != nil {
			return err
		}
		required, err := s.threadRecipients(ctx, tx, t)
		if err != nil {
			return err
		}
		var allowed []*pgp.PublicKey
		senderID := t.PatientID
		if from.Kind == SenderStaff {
			st, err := tx.GetStaff(ctx, a.PracticeID, from.ID)
			if errors.Is(err, ErrNoRows) {
				return Invalid("sender", "unknown_staff", "sender: no such staff member in this practice")
			}
			if err != nil {
				return err
			}
			senderID = st.ID
			if pub, _, err := s.currentPublic(ctx, tx, a.PracticeID, OwnerStaff, st.ID); err == nil {
				allowed = append(allowed, pub)
			}
		}
		// A client that fetched the keys just before a rotation may still
		// encrypt to the superseded ones: accept those for keyAge.
		allowed = append(allowed, s.recentlySuperseded(ctx, tx, t)...)
		if err := pgp.CheckRecipients(env, required, allowed...); err != nil {
			return pgpError("message", err)
		}
		m = &SecureMessage{ID: NewID(PrefixMessage), PracticeID: a.PracticeID, ThreadID: t.ID, SenderKind: from.Kind,
			SenderID: senderID, Ciphertext: env.Binary, Size: len(env.Binary), Via: "portal", Created: s.Now()}
		return s.addMessage(ctx, tx, a, t, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// threadRecipients are the keys every message of the thread must be
// encrypted to: the patient's and the team's current keys.
func (s *Service) threadRecipients(ctx context.Context, tx Store, t *Thread) ([]pgp.Recipient, error) {
	patient, _, err := s.currentPublic(ctx, tx, t.PracticeID, OwnerPatient, t.PatientID)
	if errors.Is(err, ErrNoRows) {
		return nil, Unprocessable("", "no_patient_key", "the patient has no key registered")
	}
	if err != nil {
		return nil, pgpError("patient_key", err)
	}
	team, _, err := s.currentPublic(ctx, tx, t.PracticeID, OwnerTeam, t.PracticeID)
	if errors.Is(err, ErrNoRows) {
		return nil, Unprocessable("", "no_team_key", "the practice has no team key yet")
	}
	if err != nil {
		return nil, pgpError("team_key", err)
	}
	return []pgp.Recipient{{Role: pgp.RolePatient, Key: patient}, {Role: pgp.RoleTeam, Key: team}}, nil
}

// addMessage stores m, updates the thread's counters and, for a message
// from staff, plans the patient's notice.
func (s *Service) addMessage(ctx context.Context, tx Store, a Actor, t *Thread, m *SecureMessage) error {
	if err := tx.AddMessage(ctx, m); err != nil {
		return err
	}
	t.LastActivity = m.Created
	t.LastSender = m.SenderKind
	if m.SenderKind == SenderPatient {
		t.StaffUnread++
		t.Status = ThreadOpen // a patient writing reopens a closed thread
	} else {
		t.PatientUnread++
	}
	notify := m.SenderKind == SenderStaff && (t.LastNoticeAt == nil || m.Created.Sub(*t.LastNoticeAt) >= DefaultNoticeWindow)
	if notify {
		at := m.Created
		t.LastNoticeAt = &at
	}
	if err := tx.UpdateThread(ctx, t); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, a, "message.create", t.PatientID, m.ID); err != nil {
		return err
	}
	if notify {
		p, err := tx.GetPatientByID(ctx, t.PracticeID, t.PatientID)
		if err != nil {
			return err
		}
		na := Actor{PracticeID: t.PracticeID, ID: a.ID, Mode: a.Mode}
		if _, err := s.planDelivery(ctx, tx, na, p, m.ID, KindSecureMessageNotice, p.Channels); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == "no_reachable_channel" {
				return nil // the portal inbox page shows unread threads anyway
			}
			return err
		}
	}
	afterCommit(ctx, func(context.Context) {
		s.publish(Event{Type: EventMessage, PracticeID: t.PracticeID, ThreadID: t.ID, ID: m.ID})
	})
	return nil
}

// ListMessages lists a thread's messages, oldest first (audited).
func (s *Service) ListMessages(ctx context.Context, a Actor, threadID, afterID string, limit int) (*Thread, []SecureMessage, error) {
	var t *Thread
	var ms []SecureMessage
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if t, err = s.thread(ctx, tx, a.PracticeID, threadID); err != nil {
			return err
		}
		if ms, err = tx.ListMessages(ctx, a.PracticeID, t.ID, afterID, limit); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "thread.read_messages", t.PatientID, t.ID)
	})
	return t, ms, err
}

// MarkThreadRead resets one side's unread count: "patient" (the portal
// read it) or "staff".
func (s *Service) MarkThreadRead(ctx context.Context, a Actor, threadID, reader string) (*Thread, error) {
	if a.StaffID != "" {
		reader = SenderStaff
	}
	if reader != SenderPatient && reader != SenderStaff {
		return nil, Invalid("reader", "invalid_reader", "reader: patient or staff")
	}
	var t *Thread
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if t, err = s.thread(ctx, tx, a.PracticeID, threadID); err != nil {
			return err
		}
		if reader == SenderPatient {
			t.PatientUnread = 0
		} else {
			t.StaffUnread = 0
		}
		if err := tx.UpdateThread(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "thread.mark_read."+reader, t.PatientID, t.ID)
	})
	if err == nil {
		s.publish(Event{Type: EventThread, PracticeID: t.PracticeID, ThreadID: t.ID})
	}
	return t, err
}

// ThreadPatch changes a thread's status, assignment or category.
type ThreadPatch struct {
	Status     *string `json:"status"`
	AssignedTo *string `json:"assigned_to"`
	Category   *string `json:"category"`
}

// UpdateThread applies a patch.
func (s *Service) UpdateThread(ctx context.Context, a Actor, threadID string, p ThreadPatch) (*Thread, error) {
	var t *Thread
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if t, err = s.thread(ctx, tx, a.PracticeID, threadID); err != nil {
			return err
		}
		if p.Status != nil {
			if *p.Status != ThreadOpen && *p.Status != ThreadClosed {
				return Invalid("status", "invalid_status", "status: open or closed")
			}
			t.Status = *p.Status
		}
		if p.AssignedTo != nil {
			if *p.AssignedTo != "" {
				if _, err := tx.GetStaff(ctx, a.PracticeID, *p.AssignedTo); errors.Is(err, ErrNoRows) {
					return Invalid("assigned_to", "unknown_staff", "assigned_to: no such staff member in this practice")
				} else if err != nil {
					return err
				}
			}
			t.AssignedTo = *p.AssignedTo
		}
		if p.Category != nil {
			if !categoryRe.MatchString(*p.Category) {
				return Invalid("category", "invalid_category", "category: lower-case letters, digits, '_' or '-', up to 40")
			}
			t.Category = *p.Category
		}
		if err := tx.UpdateThread(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "thread.update", t.PatientID, t.ID)
	})
	if err == nil {
		s.publish(Event{Type: EventThread, PracticeID: t.PracticeID, ThreadID: t.ID})
	}
	return t, err
}

// ReceiveReply takes a patient's reply that arrived by SMS or email and
// stores it in the right thread: the one an email reply token names, else
// the patient's most recent open thread, else a new one. Plaintext is
// encrypted on arrival to the thread's keys (patient and team) and
// dropped; an already encrypted (PGP/MIME) reply is checked and stored as
// it is. A ProviderID seen before is not stored again.
func (s *Service) ReceiveReply(ctx context.Context, in InboundText) (ReplyResult, error) {
	var res ReplyResult
	if in.Ciphertext == nil {
		if !utf8.ValidString(in.Text) {
			in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
		}
		in.Text = strings.TrimSpace(in.Text)
		if in.Text == "" {
			return res, Invalid("text", "empty_reply", "the reply has no text")
		}
		if len(in.Text) > MaxReplyText {
			return res, ErrTooLarge
		}
	}
	a := Actor{PracticeID: in.PracticeID, ID: "inbound:" + in.Via}
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		t, err := s.replyThread(ctx, tx, &in)
		if err != nil {
			return err
		}
		a.PracticeID = t.PracticeID
		patient, team, err := s.replyKeys(ctx, tx, t)
		if err != nil {
			return err
		}
		m := &SecureMessage{ID: NewID(PrefixMessage), PracticeID: t.PracticeID, ThreadID: t.ID, SenderKind: SenderPatient,
			SenderID: t.PatientID, Via: in.Via, ProviderID: in.ProviderID, Created: s.Now()}
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
		err = s.addMessage(ctx, tx, a, t, m)
		if errors.Is(err, ErrConflict) {
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

var errDuplicate = errors.New("hub: duplicate inbound message")

// replyThread finds (or opens) the thread an inbound reply belongs to.
func (s *Service) replyThread(ctx context.Context, tx Store, in *InboundText) (*Thread, error) {
	switch {
	case in.ThreadID != "":
		t, err := tx.GetThread(ctx, in.PracticeID, in.ThreadID)
		if errors.Is(err, ErrNoRows) && in.PracticeID == "" {
			return nil, NotFound("thread")
		}
		if err != nil {
			return nil, err
		}
		in.PracticeID = t.PracticeID
		return t, nil
	case in.DeliveryID != "":
		d, err := tx.GetDelivery(ctx, in.PracticeID, in.DeliveryID)
		if errors.Is(err, ErrNoRows) {
			return nil, NotFound("delivery")
		}
		if err != nil {
			return nil, err
		}
		in.PracticeID = d.PracticeID
		return s.openThreadFor(ctx, tx, d.PracticeID, d.PatientID)
	case in.Via == ChannelSMS:
		ps, err := tx.FindPatientsByPhone(ctx, in.PracticeID, in.From)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return nil, &Error{Status: http.StatusNotFound, Code: "unknown_sender", Message: "no patient of the practice has this number"}
		}
		// A shared family number: the patient with the latest open thread.
		var best *Thread
		for _, p := range ps {
			t, err := tx.LatestOpenThread(ctx, in.PracticeID, p.ID)
			if errors.Is(err, ErrNoRows) {
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
		return s.openThreadFor(ctx, tx, in.PracticeID, ps[0].ID)
	}
	return nil, Invalid("", "unroutable_reply", "the reply names no thread, delivery or known sender")
}

// openThreadFor returns the patient's latest open thread, or opens one.
func (s *Service) openThreadFor(ctx context.Context, tx Store, practiceID, patientID string) (*Thread, error) {
	t, err := tx.LatestOpenThread(ctx, practiceID, patientID)
	if err == nil || !errors.Is(err, ErrNoRows) {
		return t, err
	}
	now := s.Now()
	t = &Thread{ID: NewID(PrefixThread), PracticeID: practiceID, PatientID: patientID, Category: "reply",
		Status: ThreadOpen, Created: now, LastActivity: now}
	if err := tx.CreateThread(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// recentlySuperseded are the thread's patient and team keys superseded
// less than keyAge ago.
func (s *Service) recentlySuperseded(ctx context.Context, tx Store, t *Thread) []*pgp.PublicKey {
	var out []*pgp.PublicKey
	for _, o := range []struct{ kind, id string }{{OwnerPatient, t.PatientID}, {OwnerTeam, t.PracticeID}} {
		ks, err := tx.ListKeys(ctx, t.PracticeID, o.kind, o.id)
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
func (s *Service) replyKeys(ctx context.Context, tx Store, t *Thread) (patient, team *pgp.PublicKey, err error) {
	team, _, err = s.currentPublic(ctx, tx, t.PracticeID, OwnerTeam, t.PracticeID)
	if errors.Is(err, ErrNoRows) {
		s.log.Warn("reply dropped: the practice has no team key to encrypt it to", "practice", t.PracticeID)
		return nil, nil, Unprocessable("", "no_team_key", "the practice has no team key: replies cannot be stored encrypted until one is set up (karere team init)")
	}
	if err != nil {
		return nil, nil, pgpError("team_key", err)
	}
	patient, _, err = s.currentPublic(ctx, tx, t.PracticeID, OwnerPatient, t.PatientID)
	if errors.Is(err, ErrNoRows) {
		return nil, team, nil
	}
	if err != nil {
		return nil, nil, pgpError("patient_key", err)
	}
	return patient, team, nil
}
