package hub

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// PatientInput is the body of PUT /v1/patients/{external_id}.
type PatientInput struct {
	GivenName   string    `json:"given_name"`
	FamilyName  string    `json:"family_name"`
	Phone       string    `json:"phone"`
	Email       string    `json:"email"`
	Channels    []string  `json:"channels"`
	Locale      string    `json:"locale"`
	DateOfBirth string    `json:"date_of_birth"`
	Guardian    *Guardian `json:"guardian"`
	// EncryptedEmail asks for secure messages as PGP/MIME email; the
	// patient must have a key registered.
	EncryptedEmail bool `json:"encrypted_email"`
	// OptOuts: for a kind of notice, the channels the patient does not
	// want it on, e.g. {"prescription_ready": ["sms"]}.
	OptOuts map[string][]string `json:"opt_outs"`
}

// NoticeKinds are the kinds a patient may opt out of.
var NoticeKinds = []string{KindNotice, KindAppointmentReminder, KindAppointmentCancelled,
	KindPrescriptionReady, KindSecureMessageNotice}

// DefaultLocale is used when a patient has none.
const DefaultLocale = "en-NZ"

func checkName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 200 || strings.ContainsAny(s, "\r\n") {
		return "", Invalid(field, "invalid_name", "%s: at most 200 characters on one line", field)
	}
	return s, nil
}

// validate checks the input and fills p.
func (in *PatientInput) validate(p *Patient, now time.Time) error {
	var err error
	if p.GivenName, err = checkName("given_name", in.GivenName); err != nil {
		return err
	}
	if p.GivenName == "" {
		return Invalid("given_name", "missing_field", "given_name: required")
	}
	if p.FamilyName, err = checkName("family_name", in.FamilyName); err != nil {
		return err
	}
	p.Phone, p.Email = "", ""
	if in.Phone != "" {
		if p.Phone, err = NormalizePhone("phone", in.Phone); err != nil {
			return err
		}
	}
	if in.Email != "" {
		if p.Email, err = NormalizeEmail("email", in.Email); err != nil {
			return err
		}
	}
	if err := CheckChannels("channels", in.Channels); err != nil {
		return err
	}
	p.Channels = append([]string(nil), in.Channels...)
	if len(p.Channels) == 0 {
		p.Channels = []string{ChannelPortal}
	}
	p.Locale = in.Locale
	if p.Locale == "" {
		p.Locale = DefaultLocale
	}
	if !ValidLocale(p.Locale) {
		return Invalid("locale", "invalid_locale", "locale: a language tag such as en-NZ or mi-NZ")
	}
	p.DateOfBirth = in.DateOfBirth
	if in.DateOfBirth != "" {
		dob, err := time.Parse("2006-01-02", in.DateOfBirth)
		if err != nil {
			return Invalid("date_of_birth", "invalid_date", "date_of_birth: use YYYY-MM-DD")
		}
		if dob.After(now) || dob.Year() < 1880 {
			return Invalid("date_of_birth", "invalid_date", "date_of_birth: not a plausible date of birth")
		}
	}
	p.KindOptOuts = nil
	for kind, chans := range in.OptOuts {
		if !slices.Contains(NoticeKinds, kind) {
			return Invalid("opt_outs", "invalid_kind", "opt_outs: unknown kind %q (use %s)", kind, strings.Join(NoticeKinds, ", "))
		}
		if err := CheckChannels("opt_outs."+kind, chans); err != nil {
			return err
		}
		if len(chans) > 0 {
			if p.KindOptOuts == nil {
				p.KindOptOuts = map[string][]string{}
			}
			p.KindOptOuts[kind] = append([]string(nil), chans...)
		}
	}
	p.EncryptedEmail = in.EncryptedEmail
	if p.EncryptedEmail && p.Email == "" {
		return Invalid("encrypted_email", "missing_field", "encrypted_email: needs an email address")
	}
	p.Guardian = nil
	if g := in.Guardian; g != nil {
		ng := &Guardian{Proxy: g.Proxy}
		if ng.Name, err = checkName("guardian.name", g.Name); err != nil {
			return err
		}
		if ng.Name == "" {
			return Invalid("guardian.name", "missing_field", "guardian.name: required when a guardian is given")
		}
		if g.Phone != "" {
			if ng.Phone, err = NormalizePhone("guardian.phone", g.Phone); err != nil {
				return err
			}
		}
		if g.Email != "" {
			if ng.Email, err = NormalizeEmail("guardian.email", g.Email); err != nil {
				return err
			}
		}
		if ng.Phone == "" && ng.Email == "" {
			return Invalid("guardian", "missing_field", "guardian: give a phone or an email")
		}
		p.Guardian = ng
	}
	return nil
}

// PutPatient creates or replaces a patient. created reports a new patient.
func (s *Service) PutPatient(ctx context.Context, a Actor, externalID string, in PatientInput) (*Patient, bool, error) {
	if err := CheckExternalID("external_id", externalID); err != nil {
		return nil, false, err
	}
	p := &Patient{PracticeID: a.PracticeID, ExternalID: externalID}
	if err := in.validate(p, s.Now()); err != nil {
		return nil, false, err
	}
	var created bool
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		old, err := tx.GetPatient(ctx, a.PracticeID, externalID)
		switch {
		case errors.Is(err, ErrNoRows):
			p.ID = NewID(PrefixPatient)
			p.Created = s.Now()
		case err != nil:
			return err
		default:
			p.ID, p.Created = old.ID, old.Created
			// Opt-outs belong to the address: a changed number or
			// address starts opted in.
			if old.Phone == p.Phone {
				p.SMSOptOut = old.SMSOptOut
			}
			if old.Email == p.Email {
				p.EmailOptOut = old.EmailOptOut
			}
		}
		p.Updated = s.Now()
		if created, err = tx.PutPatient(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "patient.put", p.ID, p.ID)
	})
	if err != nil {
		return nil, false, err
	}
	return p, created, nil
}

// GetPatient reads a patient of the actor's practice (audited).
func (s *Service) GetPatient(ctx context.Context, a Actor, externalID string) (*Patient, error) {
	var p *Patient
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if p, err = s.patient(ctx, tx, a.PracticeID, externalID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "patient.read", p.ID, p.ID)
	})
	return p, err
}

func (s *Service) patient(ctx context.Context, tx Store, practiceID, externalID string) (*Patient, error) {
	p, err := tx.GetPatient(ctx, practiceID, externalID)
	if errors.Is(err, ErrNoRows) {
		return nil, NotFound("patient")
	}
	return p, err
}

// DeletePatient removes a patient's contact details (name, numbers,
// addresses, guardian). The record and its history stay for the audit.
func (s *Service) DeletePatient(ctx context.Context, a Actor, externalID string) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		p, err := s.patient(ctx, tx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		p.GivenName, p.FamilyName, p.Phone, p.Email, p.Guardian, p.DateOfBirth = "", "", "", "", nil, ""
		p.Channels = []string{ChannelPortal}
		p.Updated = s.Now()
		if _, err := tx.PutPatient(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "patient.delete", p.ID, p.ID)
	})
}

// SetOptOut opts an address (E.164 number or email) in or out of a channel
// for every patient of the practice that has it.
func (s *Service) SetOptOut(ctx context.Context, practiceID, channel, address string, optedOut bool, at time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var ps []Patient
		var err error
		switch channel {
		case ChannelSMS:
			ps, err = tx.FindPatientsByPhone(ctx, practiceID, address)
		case ChannelEmail:
			ps, err = tx.FindPatientsByEmail(ctx, practiceID, address)
		default:
			return Invalid("channel", "invalid_channel", "channel: sms or email")
		}
		if err != nil {
			return err
		}
		for i := range ps {
			p := &ps[i]
			var mark *time.Time
			if optedOut {
				t := at.UTC()
				mark = &t
			}
			if channel == ChannelSMS {
				p.SMSOptOut = mark
			} else {
				p.EmailOptOut = mark
			}
			p.Updated = s.Now()
			if _, err := tx.PutPatient(ctx, p); err != nil {
				return err
			}
			action := channel + ".opt_in"
			if optedOut {
				action = channel + ".opt_out"
			}
			if err := s.audit(ctx, tx, Actor{PracticeID: practiceID, ID: "patient"}, action, p.ID, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Inbox lists a patient's portal inbox, newest first (audited).
func (s *Service) Inbox(ctx context.Context, a Actor, externalID string, limit int) ([]InboxItem, error) {
	var items []InboxItem
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		p, err := s.patient(ctx, tx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		if items, err = tx.ListInbox(ctx, a.PracticeID, p.ID, limit); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "inbox.read", p.ID, p.ID)
	})
	return items, err
}

// MarkInboxRead marks one inbox item read.
func (s *Service) MarkInboxRead(ctx context.Context, a Actor, externalID, itemID string) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		p, err := s.patient(ctx, tx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		if err := tx.MarkInboxRead(ctx, a.PracticeID, p.ID, itemID, s.Now()); err != nil {
			if errors.Is(err, ErrNoRows) {
				return NotFound("inbox item")
			}
			return err
		}
		it, err := tx.GetInboxItem(ctx, a.PracticeID, itemID)
		if err != nil {
			return err
		}
		if err := s.cancelEscalationsFor(ctx, tx, a.PracticeID, it.DeliveryID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "inbox.mark_read", p.ID, itemID)
	})
}

// UnsubscribeDelivery opts out of email the address a delivery was sent
// to (the one-click unsubscribe link of a notice), and returns the
// practice's name.
func (s *Service) UnsubscribeDelivery(ctx context.Context, deliveryID string) (string, error) {
	d, err := s.store.GetDelivery(ctx, "", deliveryID)
	if errors.Is(err, ErrNoRows) {
		return "", NotFound("delivery")
	}
	if err != nil {
		return "", err
	}
	pr, err := s.practice(ctx, d.PracticeID)
	if err != nil {
		return "", err
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return "", err
	}
	addr := addressFor(p, ChannelEmail, s.Now())
	if addr == "" {
		return pr.Name, nil // the address was removed since: nothing to stop
	}
	return pr.Name, s.SetOptOut(ctx, d.PracticeID, ChannelEmail, addr, true, s.Now())
}
