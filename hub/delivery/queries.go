package delivery

import (
	"context"
	"errors"

	"github.com/karerehub/karere/hub"
)

// GetDelivery reads one delivery of the actor's practice.
func (s *Service) GetDelivery(ctx context.Context, a hub.Actor, id string) (*hub.Delivery, *hub.Patient, error) {
	d, err := s.store.GetDelivery(ctx, a.PracticeID, id)
	if errors.Is(err, hub.ErrNoRows) {
		return nil, nil, hub.NotFound("delivery")
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetPatientByID(ctx, a.PracticeID, d.PatientID)
	if err != nil {
		return nil, nil, err
	}
	return d, p, nil
}

// ListDeliveries lists the practice's deliveries, newest first, optionally
// for one patient (external id) and one state.
func (s *Service) ListDeliveries(ctx context.Context, a hub.Actor, patientExternalID string, state hub.DeliveryState, limit int, beforeID string) ([]hub.Delivery, map[string]string, error) {
	f := hub.DeliveryFilter{PracticeID: a.PracticeID, State: state, Limit: limit, BeforeID: beforeID}
	if state != "" && !state.Valid() {
		return nil, nil, hub.Invalid("state", "invalid_state", "state: one of pending, sent, delivered, failed, undelivered, bounced, cancelled")
	}
	if limit < 0 || limit > 500 {
		return nil, nil, hub.Invalid("limit", "invalid_limit", "limit: 1-500")
	}
	if patientExternalID != "" {
		p, err := s.store.GetPatient(ctx, a.PracticeID, patientExternalID)
		if errors.Is(err, hub.ErrNoRows) {
			return nil, nil, hub.NotFound("patient")
		}
		if err != nil {
			return nil, nil, err
		}
		f.PatientID = p.ID
	}
	ds, err := s.store.ListDeliveries(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	// External ids of the patients, for the API's "patient" field.
	ext := map[string]string{}
	for _, d := range ds {
		if _, ok := ext[d.PatientID]; ok {
			continue
		}
		p, err := s.store.GetPatientByID(ctx, a.PracticeID, d.PatientID)
		if err != nil {
			return nil, nil, err
		}
		ext[d.PatientID] = p.ExternalID
	}
	return ds, ext, nil
}

// Outbox lists what the outbox channel kept for the practice ("" for all
// practices, dev mode only).
func (s *Service) Outbox(ctx context.Context, practiceID string, limit int) ([]hub.OutboxItem, error) {
	return s.store.ListOutbox(ctx, practiceID, limit)
}
