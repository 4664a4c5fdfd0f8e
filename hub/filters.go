package hub

// DeliveryFilter selects deliveries of one practice.
type DeliveryFilter struct {
	PracticeID string
	PatientID  string        // optional
	NoticeID   string        // optional
	State      DeliveryState // optional
	Limit      int
	BeforeID   string // optional: page older than this id
}
