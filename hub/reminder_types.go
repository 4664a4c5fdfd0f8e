package hub

import (
	"strconv"
	"time"
)

// Defaults for a practice that set no reminder settings (a practice manager typically
// sets 48 h and 2 h, quiet hours 8 pm-8 am).
var (
	DefaultReminderOffsets = []time.Duration{48 * time.Hour, 2 * time.Hour}
	DefaultQuietStart      = Clock(20 * 60)
	DefaultQuietEnd        = Clock(8 * 60)
)

// Appointment statuses, as the practice management system sets them.
const (
	AppointmentBooked    = "booked"
	AppointmentCancelled = "cancelled"
)

// Confirmation states of an appointment.
const (
	ConfirmationNone      = "none"      // no reminder has asked yet
	ConfirmationPending   = "pending"   // a reminder asked; no answer yet
	ConfirmationConfirmed = "confirmed" // the patient replied Y
	// ConfirmationDeclined: the patient replied N. Karere does not cancel
	// the appointment: it tells the PMS (appointment.declined), which
	// decides, and cancels it through the API if it wants to.
	ConfirmationDeclined = "declined"
)

// Appointment is a booking the PMS keeps in Karere so that it can be
// reminded. ExternalID is the PMS's id.
type Appointment struct {
	ID              string
	PracticeID      string
	ExternalID      string
	PatientID       string
	Start           time.Time
	DurationMinutes int
	Clinician       string
	Location        string
	Status          string // AppointmentBooked | AppointmentCancelled
	Confirmation    string // Confirmation*
	ConfirmationAt  *time.Time
	// Version goes up by one with each change of Start, Status or patient;
	// reminder tasks carry it, so a task planned for an older version is
	// a no-op.
	Version int
	Mode    KeyMode // of the key that created it: a test key's reminders go to the outbox
	Created time.Time
	Updated time.Time
}

// Reminder states.
const (
	ReminderScheduled = "scheduled" // waiting for its fire time
	ReminderSent      = "sent"      // fired: a notice and delivery were made
	ReminderCancelled = "cancelled" // the appointment changed or was cancelled first
	ReminderSkipped   = "skipped"   // fired, but there was nothing to send (see Note)
)

// Reminder is one planned reminder of one version of an appointment. Its
// ID is also its Asynq task id: "rem_<appointment id>_<offset>_v<version>".
type Reminder struct {
	ID               string
	PracticeID       string
	AppointmentID    string
	PatientID        string
	Offset           time.Duration
	Version          int
	FireAt           time.Time
	State            string
	AsksConfirmation bool
	NoticeID         string
	DeliveryID       string
	Note             string // why it was skipped
	SentAt           *time.Time
	Created          time.Time
	Updated          time.Time
}

// ReminderID is the reminder's id and task id.
func ReminderID(appointmentID string, offset time.Duration, version int) string {
	return "rem_" + appointmentID + "_" + OffsetLabel(offset) + "_v" + strconv.Itoa(version)
}

// Webhook event types sent to the practice's PMS.
const (
	WebhookAppointmentConfirmed = "appointment.confirmed"
	WebhookAppointmentDeclined  = "appointment.declined"
	WebhookDeliveryFailed       = "delivery.failed"
)

// Webhook event states.
const (
	WebhookPending = "pending"
	WebhookSent    = "sent"
	WebhookFailed  = "failed"
)

// WebhookEvent is one event for the practice's PMS, stored before it is
// sent so that it survives restarts.
type WebhookEvent struct {
	ID         string
	PracticeID string
	Type       string
	Body       []byte // the JSON posted, exactly
	State      string
	Attempts   int
	LastError  string
	Created    time.Time
	Updated    time.Time
}

// Id prefixes of this part.
const (
	PrefixAppointment = "apt"
	PrefixWebhook     = "evt"
)
