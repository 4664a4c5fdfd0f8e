package api

import (
	"net/http"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/delivery"
)

func (s deliveryAPI) routes() {
	s.Authed("POST /v1/notices", s.postNotice)
	s.Authed("GET /v1/deliveries/{id}", s.getDelivery)
	s.Authed("GET /v1/deliveries", s.listDeliveries)
	s.Authed("GET /v1/outbox", s.getOutbox)
	if s.cfg.Dev {
		s.Handle("GET /v1/dev/outbox", s.getDevOutbox)
	}
}

type deliveryJSON struct {
	ID         string            `json:"id"`
	Patient    string            `json:"patient,omitempty"`
	Notice     string            `json:"notice,omitempty"`
	Channel    string            `json:"channel"`
	Kind       string            `json:"kind"`
	Mode       hub.KeyMode       `json:"mode"`
	State      hub.DeliveryState `json:"state"`
	Attempts   int               `json:"attempts"`
	ProviderID *string           `json:"provider_id"`
	LastError  *string           `json:"last_error"`
	Fallbacks  []string          `json:"fallbacks"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`

	// TemplateVersion is the practice template version the delivery was
	// rendered from; 0 for a built-in default (or not rendered yet).
	TemplateVersion int `json:"template_version"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toDeliveryJSON(d *hub.Delivery, patientExternalID string) deliveryJSON {
	fb := d.Fallbacks
	if fb == nil {
		fb = []string{}
	}
	return deliveryJSON{ID: d.ID, Patient: patientExternalID, Notice: d.NoticeID, Channel: d.Channel, Kind: d.Kind,
		Mode: d.Mode, State: d.State, Attempts: d.Attempts, ProviderID: strOrNil(d.ProviderID),
		LastError: strOrNil(d.LastError), Fallbacks: fb, TemplateVersion: d.TemplateVersion, CreatedAt: d.Created,
		UpdatedAt: d.Updated}
}

func (s deliveryAPI) postNotice(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in delivery.NoticeInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	n, ds, err := s.svc.Delivery.SubmitNotice(r.Context(), a, in)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for i := range ds {
		out = append(out, toDeliveryJSON(&ds[i], in.Patient))
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"notice_id": n.ID, "deliveries": out})
	return nil
}

func (s deliveryAPI) getDelivery(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	d, p, err := s.svc.Delivery.GetDelivery(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDeliveryJSON(d, p.ExternalID))
	return nil
}

func (s deliveryAPI) listDeliveries(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "patient", "state", "limit", "before":
		default:
			return badQuery(k, "unknown query parameter (use patient, state, limit, before)")
		}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	ds, ext, err := s.svc.Delivery.ListDeliveries(r.Context(), a, q.Get("patient"), hub.DeliveryState(q.Get("state")), limit, q.Get("before"))
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for i := range ds {
		out = append(out, toDeliveryJSON(&ds[i], ext[ds[i].PatientID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	return nil
}

type outboxJSON struct {
	ID        string    `json:"id"`
	Delivery  string    `json:"delivery"`
	Channel   string    `json:"channel"`
	To        string    `json:"to"`
	Subject   string    `json:"subject,omitempty"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

func outboxOut(items []hub.OutboxItem) map[string]any {
	out := make([]outboxJSON, 0, len(items))
	for _, it := range items {
		out = append(out, outboxJSON{ID: it.ID, Delivery: it.DeliveryID, Channel: it.Channel, To: it.To,
			Subject: it.Subject, Text: it.Text, CreatedAt: it.Created})
	}
	return map[string]any{"items": out}
}

// getOutbox lists what the outbox kept for this practice (test-key
// deliveries, and everything when no provider is configured).
func (s deliveryAPI) getOutbox(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	items, err := s.svc.Delivery.Outbox(r.Context(), a.PracticeID, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, outboxOut(items))
	return nil
}

// getDevOutbox lists every practice's outbox: `hubd dev` only.
func (s deliveryAPI) getDevOutbox(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	items, err := s.svc.Delivery.Outbox(r.Context(), "", limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, outboxOut(items))
	return nil
}
