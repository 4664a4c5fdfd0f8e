package hub

// Actor says who is acting, for the audit trail and for what a caller may
// see: every service method that reads or changes a practice's data takes
// one and confines itself to Actor.PracticeID.
type Actor struct {
	PracticeID string
	ID         string // "key:<id>", "staff:<id>", "worker", "webhook:twilio"...
	Mode       KeyMode
	Source     string // remote address
	// StaffID is set when a signed-in staff member acts (the web inbox).
	StaffID string
}

// Worker is the Actor of the queue's workers acting for a practice.
func Worker(practiceID string, mode KeyMode) Actor {
	return Actor{PracticeID: practiceID, ID: "worker", Mode: mode}
}
