// Package patients keeps a practice's patients: their contact details,
// preferred channels, guardians and opt-outs (per kind of notice, a
// number that texted STOP, an address that unsubscribed or bounced).
package patients

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
)

// Store keeps patients (hub/store implements it).
type Store interface {
	hub.Transactor
	// PutPatient inserts or replaces a patient by (PracticeID, ExternalID),
	// keeping p.ID and p.Created of an existing row (both are set on p on
	// return). created reports whether the row is new.
	PutPatient(ctx context.Context, p *hub.Patient) (created bool, err error)
	hub.PatientReader
	// FindPatientsByPhone lists a practice's patients with this E.164
	// number, their own or their guardian's.
	FindPatientsByPhone(ctx context.Context, practiceID, phone string) ([]hub.Patient, error)
	// FindPatientsByEmail lists a practice's patients with this address,
	// their own or their guardian's (case-insensitive).
	FindPatientsByEmail(ctx context.Context, practiceID, email string) ([]hub.Patient, error)
	// GetDelivery reads a delivery of any practice (practiceID ""): an
	// unsubscribe link names one.
	GetDelivery(ctx context.Context, practiceID, id string) (*hub.Delivery, error)
	hub.PracticeReader
	// a keyword text is acted on once per provider message id
	hub.InboundClaimer
}

// Service reads and changes patients.
type Service struct {
	store Store
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service; now nil means time.Now.
func New(store Store, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, audit: log, now: now}
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// PatientInput is the body of PUT /v1/patients/{external_id}.
type PatientInput struct {
	GivenName   string        `json:"given_name"`
	FamilyName  string        `json:"family_name"`
	Phone       string        `json:"phone"`
	Email       string        `json:"email"`
	Channels    []string      `json:"channels"`
	Locale      string        `json:"locale"`
	DateOfBirth string        `json:"date_of_birth"`
	Guardian    *hub.Guardian `json:"guardian"`
	// EncryptedEmail asks for secure messages as PGP/MIME email; the
	// patient must have a key registered.
	EncryptedEmail bool `json:"encrypted_email"`
	// OptOuts: for a kind of notice, the channels the patient does not
	// want it on, e.g. {"prescription_ready": ["sms"]}.
	OptOuts map[string][]string `json:"opt_outs"`
}

func checkName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 200 || strings.ContainsAny(s, "\r\n") {
		return "", hub.Invalid(field, "invalid_name", "%s: at most 200 characters on one line", field)
	}
	return s, nil
}

// validate checks the input and fills p.
func (in *PatientInput) validate(p *hub.Patient, now time.Time) error {
	var err error
	if p.GivenName, err = checkName("given_name", in.GivenName); err != nil {
		return err
	}
	if p.GivenName == "" {
		return hub.Invalid("given_name", "missing_field", "given_name: required")
	}
	if p.FamilyName, err = checkName("family_name", in.FamilyName); err != nil {
		return err
	}
	p.Phone, p.Email = "", ""
	if in.Phone != "" {
		if p.Phone, err = hub.NormalizePhone("phone", in.Phone); err != nil {
			return err
		}
	}
	if in.Email != "" {
		if p.Email, err = hub.NormalizeEmail("email", in.Email); err != nil {
			return err
		}
	}
	if err := hub.CheckChannels("channels", in.Channels); err != nil {
		return err
	}
	p.Channels = append([]string(nil), in.Channels...)
	if len(p.Channels) == 0 {
		p.Channels = []string{hub.ChannelPortal}
	}
	p.Locale = in.Locale
	if p.Locale == "" {
		p.Locale = hub.DefaultLocale
	}
	if !hub.ValidLocale(p.Locale) {
		return hub.Invalid("locale", "invalid_locale", "locale: a language tag such as en-NZ or mi-NZ")
	}
	p.DateOfBirth = in.DateOfBirth
	if in.DateOfBirth != "" {
		dob, err := time.Parse("2006-01-02", in.DateOfBirth)
		if err != nil {
			return hub.Invalid("date_of_birth", "invalid_date", "date_of_birth: use YYYY-MM-DD")
		}
		if dob.After(now) || dob.Year() < 1880 {
			return hub.Invalid("date_of_birth", "invalid_date", "date_of_birth: not a plausible date of birth")
		}
	}
	p.KindOptOuts = nil
	for kind, chans := range in.OptOuts {
		if !slices.Contains(hub.NoticeKinds, kind) {
			return hub.Invalid("opt_outs", "invalid_kind", "opt_outs: unknown kind %q (use %s)", kind, strings.Join(hub.NoticeKinds, ", "))
		}
		if err := hub.CheckChannels("opt_outs."+kind, chans); err != nil {
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
		return hub.Invalid("encrypted_email", "missing_field", "encrypted_email: needs an email address")
	}
	p.Guardian = nil
	if g := in.Guardian; g != nil {
		ng := &hub.Guardian{Proxy: g.Proxy}
		if ng.Name, err = checkName("guardian.name", g.Name); err != nil {
			return err
		}
		if ng.Name == "" {
			return hub.Invalid("guardian.name", "missing_field", "guardian.name: required when a guardian is given")
		}
		if g.Phone != "" {
			if ng.Phone, err = hub.NormalizePhone("guardian.phone", g.Phone); err != nil {
				return err
			}
		}
		if g.Email != "" {
			if ng.Email, err = hub.NormalizeEmail("guardian.email", g.Email); err != nil {
				return err
			}
		}
		if ng.Phone == "" && ng.Email == "" {
			return hub.Invalid("guardian", "missing_field", "guardian: give a phone or an email")
		}
		p.Guardian = ng
	}
	return nil
}

// PutPatient creates or replaces a patient. created reports a new patient.
func (s *Service) PutPatient(ctx context.Context, a hub.Actor, externalID string, in PatientInput) (*hub.Patient, bool, error) {
	if err := hub.CheckExternalID("external_id", externalID); err != nil {
		return nil, false, err
	}
	p := &hub.Patient{PracticeID: a.PracticeID, ExternalID: externalID}
	if err := in.validate(p, s.Now()); err != nil {
		return nil, false, err
	}
	var created bool
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		old, err := s.store.GetPatient(ctx, a.PracticeID, externalID)
		switch {
		case errors.Is(err, hub.ErrNoRows):
			p.ID = hub.NewID(hub.PrefixPatient)
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
		if created, err = s.store.PutPatient(ctx, p); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "patient.put", p.ID, p.ID)
	})
	if err != nil {
		return nil, false, err
	}
	return p, created, nil
}

// GetPatient reads a patient of the actor's practice (audited).
func (s *Service) GetPatient(ctx context.Context, a hub.Actor, externalID string) (*hub.Patient, error) {
	var p *hub.Patient
	err := hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var err error
		if p, err = s.patient(ctx, a.PracticeID, externalID); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "patient.read", p.ID, p.ID)
	})
	return p, err
}

func (s *Service) patient(ctx context.Context, practiceID, externalID string) (*hub.Patient, error) {
	p, err := s.store.GetPatient(ctx, practiceID, externalID)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, hub.NotFound("patient")
	}
	return p, err
}

// DeletePatient removes a patient's contact details (name, numbers,
// addresses, guardian). The record and its history stay for the audit.
func (s *Service) DeletePatient(ctx context.Context, a hub.Actor, externalID string) error {
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		p, err := s.patient(ctx, a.PracticeID, externalID)
		if err != nil {
			return err
		}
		p.GivenName, p.FamilyName, p.Phone, p.Email, p.Guardian, p.DateOfBirth = "", "", "", "", nil, ""
		p.Channels = []string{hub.ChannelPortal}
		p.Updated = s.Now()
		if _, err := s.store.PutPatient(ctx, p); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "patient.delete", p.ID, p.ID)
	})
}

// SetOptOut opts an address (E.164 number or email) in or out of a channel
// for every patient of the practice that has it.
func (s *Service) SetOptOut(ctx context.Context, practiceID, channel, address string, optedOut bool, at time.Time) error {
	return hub.Tx(ctx, s.store, func(ctx context.Context) error {
		var ps []hub.Patient
		var err error
		switch channel {
		case hub.ChannelSMS:
			ps, err = s.store.FindPatientsByPhone(ctx, practiceID, address)
		case hub.ChannelEmail:
			ps, err = s.store.FindPatientsByEmail(ctx, practiceID, address)
		default:
			return hub.Invalid("channel", "invalid_channel", "channel: sms or email")
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
			if channel == hub.ChannelSMS {
				p.SMSOptOut = mark
			} else {
				p.EmailOptOut = mark
			}
			p.Updated = s.Now()
			if _, err := s.store.PutPatient(ctx, p); err != nil {
				return err
			}
			action := channel + ".opt_in"
			if optedOut {
				action = channel + ".opt_out"
			}
			if err := s.audit.Record(ctx, hub.Actor{PracticeID: practiceID, ID: "patient"}, action, p.ID, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetOptOutOnce is SetOptOut for a patient's text (STOP, START) received
// via a provider with its message id (Twilio's MessageSid): each id is
// applied once, in the order the ids first arrive, so a replayed START
// never undoes a later STOP. applied is false for an id seen before.
func (s *Service) SetOptOutOnce(ctx context.Context, practiceID, channel, address string, optedOut bool, at time.Time,
	via, messageID string) (applied bool, err error) {
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		first, err := s.store.ClaimInbound(ctx, practiceID, via, messageID, s.Now())
		if err != nil || !first {
			applied = false
			return err
		}
		applied = true
		return s.SetOptOut(ctx, practiceID, channel, address, optedOut, at)
	})
	return applied, err
}

// ClaimInbound records a provider message that changes nothing (HELP) as
// handled; first is false for one seen before, which is then not answered
// again.
func (s *Service) ClaimInbound(ctx context.Context, practiceID, via, messageID string) (first bool, err error) {
	return s.store.ClaimInbound(ctx, practiceID, via, messageID, s.Now())
}

// UnsubscribeDelivery opts out of email the address a delivery was sent
// to (the one-click unsubscribe link of a notice), and returns the
// practice's name. The link is bound to that address: sentTo tells
// whether the patient's current address (or guardian's, whichever the
// notices go to) is the one the link was issued for, and when it is not
// (the patient changed address since) nothing changes, so an old email
// cannot stop the new address. A link of the old form (sentTo nil) does
// not say which address it was for: it stops the current address only
// if the patient's record has not changed since the delivery was made.
// done reports whether an address was opted out.
func (s *Service) UnsubscribeDelivery(ctx context.Context, deliveryID string, sentTo func(address string) bool) (string, bool, error) {
	d, err := s.store.GetDelivery(ctx, "", deliveryID)
	if errors.Is(err, hub.ErrNoRows) {
		return "", false, hub.NotFound("delivery")
	}
	if err != nil {
		return "", false, err
	}
	pr, err := s.store.GetPractice(ctx, d.PracticeID)
	if err != nil {
		return "", false, err
	}
	p, err := s.store.GetPatientByID(ctx, d.PracticeID, d.PatientID)
	if err != nil {
		return "", false, err
	}
	addr := p.Address(hub.ChannelEmail, s.Now())
	switch {
	case addr == "":
		return pr.Name, false, nil // the address was removed since: nothing to stop
	case sentTo != nil && !sentTo(addr):
		return pr.Name, false, nil // the link was for an address the patient no longer has
	case sentTo == nil && p.Updated.After(d.Created):
		return pr.Name, false, nil // an unbound link, and the address may have changed since
	}
	return pr.Name, true, s.SetOptOut(ctx, d.PracticeID, hub.ChannelEmail, addr, true, s.Now())
}
