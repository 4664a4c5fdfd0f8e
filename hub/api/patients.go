package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/patients"
)

func (s patientsAPI) routes() {
	s.Authed("PUT /v1/patients/{external_id}", s.putPatient)
	s.Authed("GET /v1/patients/{external_id}", s.getPatient)
	s.Authed("DELETE /v1/patients/{external_id}", s.deletePatient)
	s.Authed("GET /v1/patients/{external_id}/inbox", s.getInbox)
	s.Authed("POST /v1/patients/{external_id}/inbox/{item}/read", s.markInboxRead)
}

type patientJSON struct {
	ExternalID      string              `json:"external_id"`
	GivenName       string              `json:"given_name"`
	FamilyName      string              `json:"family_name"`
	Phone           string              `json:"phone"`
	Email           string              `json:"email"`
	Channels        []string            `json:"channels"`
	Locale          string              `json:"locale"`
	DateOfBirth     string              `json:"date_of_birth"`
	Guardian        *hub.Guardian       `json:"guardian"`
	EncryptedEmail  bool                `json:"encrypted_email"`
	OptOuts         map[string][]string `json:"opt_outs"`
	SMSOptedOutAt   *time.Time          `json:"sms_opted_out_at"`
	EmailOptedOutAt *time.Time          `json:"email_opted_out_at"`
	CreatedAt       time.Time           `json:"created_at"`
	UpdatedAt       time.Time           `json:"updated_at"`
}

func toPatientJSON(p *hub.Patient) patientJSON {
	return patientJSON{ExternalID: p.ExternalID, GivenName: p.GivenName, FamilyName: p.FamilyName, Phone: p.Phone,
		Email: p.Email, Channels: p.Channels, Locale: p.Locale, DateOfBirth: p.DateOfBirth, Guardian: p.Guardian, EncryptedEmail: p.EncryptedEmail, OptOuts: optOuts(p.KindOptOuts),
		SMSOptedOutAt: p.SMSOptOut, EmailOptedOutAt: p.EmailOptOut, CreatedAt: p.Created, UpdatedAt: p.Updated}
}

func (s patientsAPI) putPatient(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in patients.PatientInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	p, created, err := s.svc.Patients.PutPatient(r.Context(), a, r.PathValue("external_id"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toPatientJSON(p))
	return nil
}

func (s patientsAPI) getPatient(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	p, err := s.svc.Patients.GetPatient(r.Context(), a, r.PathValue("external_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPatientJSON(p))
	return nil
}

func (s patientsAPI) deletePatient(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	if err := s.svc.Patients.DeletePatient(r.Context(), a, r.PathValue("external_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type inboxItemJSON struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Text      string     `json:"text"`
	Thread    string     `json:"thread,omitempty"`
	Delivery  string     `json:"delivery"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

func (s patientsAPI) getInbox(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	items, err := s.svc.Delivery.Inbox(r.Context(), a, r.PathValue("external_id"), limit)
	if err != nil {
		return err
	}
	out := make([]inboxItemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, inboxItemJSON{ID: it.ID, Kind: it.Kind, Text: it.Text, Thread: it.ThreadID,
			Delivery: it.DeliveryID, CreatedAt: it.Created, ReadAt: it.ReadAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s patientsAPI) markInboxRead(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	if err := s.svc.Delivery.MarkInboxRead(r.Context(), a, r.PathValue("external_id"), r.PathValue("item")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, badQuery("limit", "a whole number from 1 to 500")
	}
	return n, nil
}

func optOuts(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}
