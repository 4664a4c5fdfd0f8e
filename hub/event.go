package hub

// Event tells open inbox pages that something changed. Events carry ids,
// never content.
type Event struct {
	Type       string `json:"type"` // EventMessage or EventThread
	PracticeID string `json:"-"`
	ThreadID   string `json:"thread,omitempty"`
	ID         string `json:"id,omitempty"`
}

// Event types.
const (
	EventMessage = "message" // a secure message was added to a thread
	EventThread  = "thread"  // a thread was assigned, closed, reopened or read
)
