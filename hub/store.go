package hub

import (
	"context"
	"errors"
	"time"
)

// Store errors. Implementations return these (possibly wrapped) so that
// callers can tell them apart with errors.Is.
var (
	// ErrNoRows: the record does not exist (or belongs to another practice).
	ErrNoRows = errors.New("hub: no such record")
	// ErrConflict: a unique constraint was violated.
	ErrConflict = errors.New("hub: record already exists")
)

// Store persists everything. Every method that takes a practiceID confines
// itself to that practice: a record of another practice is ErrNoRows, never
// returned. The one implementation lives in hub/store (SQLite and
// PostgreSQL).
type Store interface {
	// Tx runs fn in one database transaction and commits when fn returns
	// nil. The Store passed to fn is bound to the transaction; calling Tx on
	// it runs fn in the same transaction.
	Tx(ctx context.Context, fn func(tx Store) error) error
	// Ping checks the database is reachable.
	Ping(ctx context.Context) error

	CreatePractice(ctx context.Context, p *Practice) error
	GetPractice(ctx context.Context, id string) (*Practice, error)
	ListPractices(ctx context.Context) ([]Practice, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKey finds a key by its public id, whatever its practice.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)

	// CreateStaff fails with ErrConflict when the email is taken.
	CreateStaff(ctx context.Context, s *Staff) error
	GetStaff(ctx context.Context, practiceID, id string) (*Staff, error)
	// GetStaffByEmail finds a staff member by sign-in email (case-insensitive).
	GetStaffByEmail(ctx context.Context, email string) (*Staff, error)
	ListStaff(ctx context.Context, practiceID string) ([]Staff, error)

	// PutPatient inserts or replaces a patient by (PracticeID, ExternalID),
	// keeping p.ID and p.Created of an existing row (both are set on p on
	// return). created reports whether the row is new.
	PutPatient(ctx context.Context, p *Patient) (created bool, err error)
	GetPatient(ctx context.Context, practiceID, externalID string) (*Patient, error)
	GetPatientByID(ctx context.Context, practiceID, id string) (*Patient, error)
	// FindPatientsByPhone lists a practice's patients with this E.164
	// number, their own or their guardian's.
	FindPatientsByPhone(ctx context.Context, practiceID, phone string) ([]Patient, error)
	// FindPatientsByEmail lists a practice's patients with this address,
	// their own or their guardian's (case-insensitive).
	FindPatientsByEmail(ctx context.Context, practiceID, email string) ([]Patient, error)

	CreateNotice(ctx context.Context, n *Notice) error
	GetNotice(ctx context.Context, practiceID, id string) (*Notice, error)

	CreateDelivery(ctx context.Context, d *Delivery) error
	// GetDelivery reads a delivery; practiceID "" reads any practice's (the
	// worker's view).
	GetDelivery(ctx context.Context, practiceID, id string) (*Delivery, error)
	// CancelEscalations cancels pending deliveries escalating the portal
	// delivery fromID, and says how many.
	CancelEscalations(ctx context.Context, practiceID, fromID string, at time.Time) (int64, error)
	// GetInboxItem reads one of a practice's portal items.
	GetInboxItem(ctx context.Context, practiceID, id string) (*InboxItem, error)
	// GetInboxItemByDelivery finds the portal item a delivery stored.
	GetInboxItemByDelivery(ctx context.Context, practiceID, deliveryID string) (*InboxItem, error)
	// FindDigestLeader finds the patient's pending, unclaimed notice
	// delivery on channel waiting until after notBefore; ErrNoRows if none.
	FindDigestLeader(ctx context.Context, practiceID, patientID, channel string, mode KeyMode, notBefore time.Time) (*Delivery, error)
	// ReleaseDigestMember clears a rider's DigestInto and NotBefore.
	ReleaseDigestMember(ctx context.Context, d *Delivery) error
	// ListDigestMembers lists the deliveries riding along in leaderID.
	ListDigestMembers(ctx context.Context, practiceID, leaderID string) ([]Delivery, error)
	// ClaimDelivery counts an attempt at a pending delivery and returns it
	// (Attempts already incremented); ErrNoRows when it is missing or no
	// longer pending.
	ClaimDelivery(ctx context.Context, id string, at time.Time) (*Delivery, error)
	// UpdateDelivery writes State, Attempts, ProviderID, LastError, Fallbacks,
	// NotBefore and Updated of an existing delivery.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// FindDeliveryByProviderID finds the delivery a provider's id belongs to.
	FindDeliveryByProviderID(ctx context.Context, channel, providerID string) (*Delivery, error)
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// ListPendingDeliveries pages through pending deliveries last updated
	// before updatedBefore, ordered by id, starting after afterID.
	ListPendingDeliveries(ctx context.Context, updatedBefore time.Time, afterID string, limit int) ([]Delivery, error)
	// CountDeliveries counts deliveries by state (all practices).
	CountDeliveries(ctx context.Context) (map[DeliveryState]int, error)

	// PutInboxItem stores an item; a second item with the same DeliveryID is
	// ignored (nil error), so a retried portal send stores one.
	PutInboxItem(ctx context.Context, it *InboxItem) error
	// ListInbox lists a patient's inbox, newest first.
	ListInbox(ctx context.Context, practiceID, patientID string, limit int) ([]InboxItem, error)
	MarkInboxRead(ctx context.Context, practiceID, patientID, itemID string, at time.Time) error

	// PutOutboxItem stores an item; a second one with the same DeliveryID is
	// ignored.
	PutOutboxItem(ctx context.Context, it *OutboxItem) error
	// ListOutbox lists a practice's outbox (practiceID "" for all), newest first.
	ListOutbox(ctx context.Context, practiceID string, limit int) ([]OutboxItem, error)

	// ClaimIdempotencyKey records key for the practice inside the current
	// transaction. When the key exists already (a concurrent call waits for
	// the first to commit), it returns the stored response instead; its
	// Status is 0 while the first call has not finished.
	ClaimIdempotencyKey(ctx context.Context, practiceID, key string, requestHash []byte) (*IdempotentResponse, error)
	// SaveIdempotentResponse stores the answer for a claimed key.
	SaveIdempotentResponse(ctx context.Context, practiceID, key string, status int, body []byte) error
	// DeleteIdempotencyKeysBefore removes keys older than t.
	DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error)

	AddAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, practiceID, patientID string, limit int) ([]AuditEvent, error)

	// PutSetting stores a practice's settings document of one kind ("sms",
	// "email", "reminders"...). Value is opaque (the Service encrypts it).
	PutSetting(ctx context.Context, practiceID, kind string, value []byte) error
	GetSetting(ctx context.Context, practiceID, kind string) ([]byte, error)

	E2EEStore
	ReminderStore
	TemplateStore
	SessionStore
}

// DeliveryFilter selects deliveries of one practice.
type DeliveryFilter struct {
	PracticeID string
	PatientID  string        // optional
	NoticeID   string        // optional
	State      DeliveryState // optional
	Limit      int
	BeforeID   string // optional: page older than this id
}
