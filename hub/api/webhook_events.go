package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/karerehub/karere/hub"
)

func (s hooksAPI) routes() {
	s.Authed("GET /v1/webhooks/events", s.listWebhookEvents)
}

type webhookEventJSON struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	State     string          `json:"state"`
	Attempts  int             `json:"attempts"`
	LastError *string         `json:"last_error"`
	Body      json.RawMessage `json:"body"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// listWebhookEvents shows what Karere sent (or is still trying to send)
// to the practice's PMS.
func (s hooksAPI) listWebhookEvents(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	evs, err := s.svc.Hooks.Events(r.Context(), a, limit)
	if err != nil {
		return err
	}
	out := make([]webhookEventJSON, 0, len(evs))
	for _, e := range evs {
		body := json.RawMessage(e.Body)
		if !json.Valid(body) {
			body = json.RawMessage("null")
		}
		out = append(out, webhookEventJSON{ID: e.ID, Type: e.Type, State: e.State, Attempts: e.Attempts,
			LastError: strOrNil(e.LastError), Body: body, CreatedAt: e.Created, UpdatedAt: e.Updated})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}
