package reminders

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// PrescriptionInput is the body of POST /v1/prescriptions/{external_id}/ready.
// It deliberately has no medicine field: an alert names only where and
// until when to collect (a lock screen is often seen by family).
type PrescriptionInput struct {
	Patient   string   `json:"patient"`
	Pickup    string   `json:"pickup"`     // "pharmacy" | "practice"
	Pharmacy  string   `json:"pharmacy"`   // required with pickup pharmacy
	CollectBy string   `json:"collect_by"` // optional, YYYY-MM-DD in the practice's zone
	Channels  []string `json:"channels"`   // optional, default the patient's order
}

// Pickup values.
const (
	PickupPharmacy = "pharmacy"
	PickupPractice = "practice"
)

// MaxPharmacy bounds a pharmacy's name.
const MaxPharmacy = 100

// PrescriptionReady records a prescription_ready notice for the patient
// and its first delivery, like SubmitNotice.
func (s *Service) PrescriptionReady(ctx context.Context, a hub.Actor, externalID string, in PrescriptionInput) (*hub.Notice, []hub.Delivery, error) {
	if err := hub.CheckExternalID("external_id", externalID); err != nil {
		return nil, nil, err
	}
	if in.Patient == "" {
		return nil, nil, hub.Invalid("patient", "missing_field", "patient: required (the patient's external id)")
	}
	if err := hub.CheckExternalID("patient", in.Patient); err != nil {
		return nil, nil, err
	}
	in.Pharmacy = strings.TrimSpace(in.Pharmacy)
	switch in.Pickup {
	case PickupPharmacy:
		if in.Pharmacy == "" {
			return nil, nil, hub.Invalid("pharmacy", "missing_field", "pharmacy: required when pickup is pharmacy")
		}
	case PickupPractice:
		if in.Pharmacy != "" {
			return nil, nil, hub.Invalid("pharmacy", "unexpected_field", "pharmacy: only with pickup pharmacy")
		}
	case "":
		return nil, nil, hub.Invalid("pickup", "missing_field", "pickup: required, pharmacy or practice")
	default:
		return nil, nil, hub.Invalid("pickup", "invalid_pickup", "pickup: pharmacy or practice")
	}
	if err := hub.CheckLine("pharmacy", in.Pharmacy, MaxPharmacy); err != nil {
		return nil, nil, err
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
		loc, err := s.practiceLocation(ctx, a.PracticeID)
		if err != nil {
			return err
		}
		var collectBy time.Time
		if in.CollectBy != "" {
			collectBy, err = time.ParseInLocation(time.DateOnly, in.CollectBy, loc)
			if err != nil {
				return hub.Invalid("collect_by", "invalid_date", "collect_by: a date, YYYY-MM-DD")
			}
			y, m, d := s.Now().In(loc).Date()
			if collectBy.Before(time.Date(y, m, d, 0, 0, 0, 0, loc)) {
				return hub.Invalid("collect_by", "invalid_date", "collect_by: in the past")
			}
		}
		p, err := s.store.GetPatient(ctx, a.PracticeID, in.Patient)
		if errors.Is(err, hub.ErrNoRows) {
			return hub.Unprocessable("patient", "unknown_patient", "patient: no patient %q", in.Patient)
		}
		if err != nil {
			return err
		}
		chans := in.Channels
		if chans == nil {
			chans = p.Channels
		}
		n = &hub.Notice{ID: hub.NewID(hub.PrefixNotice), PracticeID: a.PracticeID, PatientID: p.ID, Kind: hub.KindPrescriptionReady,
			Data:     &hub.NoticeData{PrescriptionID: externalID, Pickup: in.Pickup, Pharmacy: in.Pharmacy, CollectBy: collectBy},
			Channels: chans, Mode: a.Mode, Created: s.Now()}
		if err := s.store.CreateNotice(ctx, n); err != nil {
			return err
		}
		d, err := s.plan.Plan(ctx, a, p, n.ID, n.Kind, chans)
		if err != nil {
			return err
		}
		ds = append(ds, *d)
		return s.audit.Record(ctx, a, "prescription.ready", p.ID, n.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return n, ds, nil
}
