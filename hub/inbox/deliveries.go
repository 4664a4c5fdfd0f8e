package inbox

import (
	"net/http"
	"slices"
	"strings"

	"github.com/karerehub/karere/hub"
)

// deliveryLimit is how many of a patient's deliveries the history shows.
const deliveryLimit = 200

type deliveryRow struct {
	ID         string
	Channel    string
	State      string
	Attempts   int
	ProviderID string
	LastError  string
	Fallbacks  string // channels still to try, if this one fails
	At         stamp
	Updated    stamp
	// Fallback: an earlier channel for the same notice failed first.
	Fallback bool
	Failed   bool
}

// noticeGroup is one notice and the deliveries it took, first channel
// first.
type noticeGroup struct {
	NoticeID string
	Kind     string
	At       stamp
	Rows     []deliveryRow
	// Outcome in a few words: "delivered by sms after email failed".
	Outcome string
	Failed  bool
}

type deliveriesView struct {
	PatientName string
	PatientRef  string
	Groups      []noticeGroup
	Empty       bool
}

var kindNames = map[string]string{
	hub.KindNotice:              "Notice",
	hub.KindSecureMessageNotice: "Secure message notice",
	"appointment_reminder":      "Appointment reminder",
	"appointment_cancelled":     "Appointment cancelled",
	"prescription_ready":        "Prescription ready",
}

func failedState(s hub.DeliveryState) bool {
	return s == hub.StateFailed || s == hub.StateUndelivered || s == hub.StateBounced
}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request, rq *request) error {
	ext := r.PathValue("external_id")
	p, err := h.svc.Patients.GetPatient(r.Context(), rq.actor, ext)
	if err != nil {
		return err
	}
	ds, _, err := h.svc.Delivery.ListDeliveries(r.Context(), rq.actor, ext, "", deliveryLimit, "")
	if err != nil {
		return err
	}
	wn := newWhen(rq.practice, h.svc.Identity.Now())
	v := deliveriesView{PatientName: patientName(p), PatientRef: p.ExternalID, Empty: len(ds) == 0}
	index := map[string]int{}
	for _, d := range ds { // newest first
		i, ok := index[d.NoticeID]
		if !ok {
			kind := kindNames[d.Kind]
			if kind == "" {
				kind = strings.ReplaceAll(d.Kind, "_", " ")
			}
			i = len(v.Groups)
			index[d.NoticeID] = i
			v.Groups = append(v.Groups, noticeGroup{NoticeID: d.NoticeID, Kind: kind})
		}
		g := &v.Groups[i]
		g.Rows = append(g.Rows, deliveryRow{ID: d.ID, Channel: d.Channel, State: string(d.State), Attempts: d.Attempts,
			ProviderID: d.ProviderID, LastError: d.LastError, Fallbacks: strings.Join(d.Fallbacks, ", "),
			At: wn.stamp(d.Created), Updated: wn.stamp(d.Updated), Failed: failedState(d.State)})
		g.At = wn.stamp(d.Created) // ends as the first delivery's time
	}
	for gi := range v.Groups {
		g := &v.Groups[gi]
		slices.Reverse(g.Rows) // first channel first
		for i := range g.Rows {
			g.Rows[i].Fallback = i > 0
		}
		last := g.Rows[len(g.Rows)-1]
		g.Failed = last.Failed
		var failed []string
		for _, row := range g.Rows[:len(g.Rows)-1] {
			failed = append(failed, row.Channel)
		}
		g.Outcome = strings.ToUpper(last.State[:1]) + last.State[1:] + " via " + last.Channel
		if len(failed) > 0 {
			g.Outcome += " (fallback after " + strings.Join(failed, ", ") + " failed)"
		}
	}
	h.render(w, r, rq, "deliveries.html", http.StatusOK, pageData{Title: "Deliveries – " + v.PatientName,
		Page: "deliveries", Nav: "inbox", Data: v})
	return nil
}
