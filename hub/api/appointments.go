package api

import (
	"net/http"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/reminders"
	"github.com/karerehub/karere/hub/settings"
)

// reminderRoutes: appointments, prescriptions and the settings of
// reminders, SMS, email and outgoing webhooks.
func (s remindersAPI) routes() {
	s.Authed("PUT /v1/appointments/{external_id}", s.putAppointment)
	s.Authed("GET /v1/appointments/{external_id}", s.getAppointment)
	s.Authed("DELETE /v1/appointments/{external_id}", s.deleteAppointment)
	s.Authed("POST /v1/prescriptions/{external_id}/ready", s.postPrescriptionReady)

	s.Authed("PUT /v1/settings/reminders", s.putReminderSettings)
	s.Authed("GET /v1/settings/reminders", s.getReminderSettings)
	s.Authed("PUT /v1/settings/sms", s.putSMSSettings)
	s.Authed("GET /v1/settings/sms", s.getSMSSettings)
	s.Authed("PUT /v1/settings/email", s.putEmailSettings)
	s.Authed("GET /v1/settings/email", s.getEmailSettings)
	s.Authed("PUT /v1/settings/webhooks", s.putWebhookSettings)
	s.Authed("GET /v1/settings/webhooks", s.getWebhookSettings)
}

type reminderJSON struct {
	ID               string     `json:"id"`
	Offset           string     `json:"offset"`
	FireAt           string     `json:"fire_at"` // RFC 3339 in the practice's offset
	State            string     `json:"state"`
	Version          int        `json:"version"`
	AsksConfirmation bool       `json:"asks_confirmation"`
	Delivery         *string    `json:"delivery"`
	SentAt           *time.Time `json:"sent_at"`
	Note             *string    `json:"note"`
}

type appointmentJSON struct {
	ExternalID      string         `json:"external_id"`
	Patient         string         `json:"patient"`
	Start           string         `json:"start"`
	DurationMinutes int            `json:"duration_minutes"`
	Clinician       string         `json:"clinician"`
	Location        string         `json:"location"`
	Status          string         `json:"status"`
	Confirmation    string         `json:"confirmation"`
	ConfirmationAt  *time.Time     `json:"confirmation_at"`
	Version         int            `json:"version"`
	TimeZone        string         `json:"time_zone"`
	Reminders       []reminderJSON `json:"reminders"`
	// CancellationNotice is the appointment_cancelled notice this call
	// sent, if it sent one.
	CancellationNotice *string   `json:"cancellation_notice,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func toAppointmentJSON(v *reminders.AppointmentView) appointmentJSON {
	ap := v.Appointment
	out := appointmentJSON{ExternalID: ap.ExternalID, Patient: v.PatientExternalID,
		Start: ap.Start.In(v.Location).Format(time.RFC3339), DurationMinutes: ap.DurationMinutes,
		Clinician: ap.Clinician, Location: ap.Location, Status: ap.Status, Confirmation: ap.Confirmation,
		ConfirmationAt: ap.ConfirmationAt, Version: ap.Version, TimeZone: v.Location.String(),
		Reminders: make([]reminderJSON, 0, len(v.Reminders)), CreatedAt: ap.Created, UpdatedAt: ap.Updated}
	for _, r := range v.Reminders {
		out.Reminders = append(out.Reminders, reminderJSON{ID: r.ID, Offset: hub.OffsetLabel(r.Offset),
			FireAt: r.FireAt.In(v.Location).Format(time.RFC3339), State: r.State, Version: r.Version,
			AsksConfirmation: r.AsksConfirmation, Delivery: strOrNil(r.DeliveryID), SentAt: r.SentAt, Note: strOrNil(r.Note)})
	}
	if v.Cancellation != nil {
		out.CancellationNotice = &v.Cancellation.ID
	}
	return out
}

func (s remindersAPI) putAppointment(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in reminders.AppointmentInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	v, created, err := s.svc.Reminders.UpsertAppointment(r.Context(), a, r.PathValue("external_id"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toAppointmentJSON(v))
	return nil
}

func (s remindersAPI) getAppointment(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	v, err := s.svc.Reminders.GetAppointment(r.Context(), a, r.PathValue("external_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAppointmentJSON(v))
	return nil
}

func (s remindersAPI) deleteAppointment(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	v, err := s.svc.Reminders.CancelAppointment(r.Context(), a, r.PathValue("external_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAppointmentJSON(v))
	return nil
}

func (s remindersAPI) postPrescriptionReady(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in reminders.PrescriptionInput
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	n, ds, err := s.svc.Reminders.PrescriptionReady(r.Context(), a, r.PathValue("external_id"), in)
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

func (s remindersAPI) putReminderSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in settings.ReminderSettings
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	c, err := s.svc.Settings.PutReminderSettings(r.Context(), a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c.Settings())
	return nil
}

func (s remindersAPI) getReminderSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	c, err := s.svc.Settings.ReminderConfig(r.Context(), a.PracticeID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c.Settings())
	return nil
}

func (s remindersAPI) putSMSSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in hub.SMSSettings
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	v, err := s.svc.Settings.PutSMSSettings(r.Context(), a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s remindersAPI) getSMSSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	v, ok, err := s.svc.Settings.SMSSettingsView(r.Context(), a.PracticeID)
	if err != nil {
		return err
	}
	if !ok {
		return hub.NotFound("sms settings")
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s remindersAPI) putEmailSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in hub.EmailSettings
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	v, err := s.svc.Settings.PutEmailSettings(r.Context(), a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s remindersAPI) getEmailSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	v, ok, err := s.svc.Settings.EmailSettingsView(r.Context(), a.PracticeID)
	if err != nil {
		return err
	}
	if !ok {
		return hub.NotFound("email settings")
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s remindersAPI) putWebhookSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	var in hub.WebhookSettings
	if err := decode(w, r, s.cfg.MaxBody, &in); err != nil {
		return err
	}
	v, err := s.svc.Settings.PutWebhookSettings(r.Context(), a, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s remindersAPI) getWebhookSettings(w http.ResponseWriter, r *http.Request, a hub.Actor) error {
	v, ok, err := s.svc.Settings.WebhookSettingsView(r.Context(), a.PracticeID)
	if err != nil {
		return err
	}
	if !ok {
		return hub.NotFound("webhook settings")
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
