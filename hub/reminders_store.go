package hub

// ReminderStore is the part of Store for appointments, reminders,
// prescriptions and outgoing webhooks (filled in by the reminders work).
type ReminderStore interface {
}
