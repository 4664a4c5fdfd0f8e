package hub

import (
	"context"
	"time"
)

// Key owner kinds.
const (
	OwnerPatient = "patient"
	OwnerStaff   = "staff"
	OwnerTeam    = "team" // the practice team key; OwnerID is the practice id
)

// Key is a public OpenPGP key in the directory. A new key for the same
// owner supersedes the old one, which is kept so old messages stay
// readable and their recipients checkable.
type Key struct {
	ID         string
	PracticeID string
	OwnerKind  string // OwnerPatient, OwnerStaff, OwnerTeam
	OwnerID    string // patient id (Karere's), staff id, or practice id
	// Fingerprint is the primary key's, upper-case hex. Unique per owner.
	Fingerprint string
	Algorithm   string
	Armored     []byte
	Created     time.Time  // when it was registered
	Superseded  *time.Time // nil for the owner's current key
}

// LockedKey is a passphrase-locked armored private key kept for a client
// that uses several devices. The server never sees the passphrase.
type LockedKey struct {
	PracticeID  string
	OwnerKind   string
	OwnerID     string
	Fingerprint string
	Armored     []byte
	Updated     time.Time
}

// TeamGrant is the practice team key's private part encrypted (by a staff
// member's client) to one staff member's key.
type TeamGrant struct {
	PracticeID string
	StaffID    string
	TeamKeyID  string // Key.ID of the team key it unlocks
	Message    []byte // binary OpenPGP message
	GrantedBy  string // staff id of the granting client's user
	Created    time.Time
}

// Thread statuses.
const (
	ThreadOpen   = "open"
	ThreadClosed = "closed"
)

// Thread is a secure conversation between a patient and the practice.
type Thread struct {
	ID            string
	PracticeID    string
	PatientID     string
	Category      string
	Status        string // ThreadOpen or ThreadClosed
	AssignedTo    string // staff id, or ""
	Created       time.Time
	LastActivity  time.Time
	LastSender    string // "patient" or "staff" (who wrote last)
	StaffUnread   int    // messages from the patient the practice has not read
	PatientUnread int    // messages from the practice the patient has not read
	LastNoticeAt  *time.Time
}

// SecureMessage is one message of a thread: OpenPGP ciphertext and
// metadata, never plaintext.
type SecureMessage struct {
	ID         string
	PracticeID string
	ThreadID   string
	SenderKind string // "patient", "staff" or "system"
	SenderID   string // patient id or staff id
	Ciphertext []byte // binary OpenPGP message
	Size       int
	// Via is how it arrived: "portal" (API/CLI/inbox), "sms", "email".
	Via string
	// ArrivedUnencrypted marks a reply that came in plaintext by SMS or
	// email and was encrypted on arrival.
	ArrivedUnencrypted bool
	// ProviderID de-duplicates inbound replies (MessageSid, Message-ID):
	// unique per practice and Via when not empty.
	ProviderID string
	Created    time.Time
}

// ThreadFilter selects a practice's threads.
type ThreadFilter struct {
	PracticeID string
	PatientID  string // optional
	Status     string // optional
	AssignedTo string // optional; "-" for unassigned
	Unread     bool   // only threads with StaffUnread > 0
	Limit      int
	BeforeID   string // optional paging (by LastActivity order: see store)
}

// E2EEStore is the part of Store for keys, threads and messages.
type E2EEStore interface {
	// AddKey stores a key and marks every other current key of the same
	// owner superseded (at k.Created). Re-adding a key with the same
	// fingerprint makes it current again (and supersedes the others).
	AddKey(ctx context.Context, k *Key) error
	// CurrentKey is the owner's key not superseded; ErrNoRows when none.
	CurrentKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*Key, error)
	// ListKeys lists all the owner's keys, current first, then newest.
	ListKeys(ctx context.Context, practiceID, ownerKind, ownerID string) ([]Key, error)

	// PutLockedKey inserts or replaces the owner's locked private key.
	PutLockedKey(ctx context.Context, k *LockedKey) error
	GetLockedKey(ctx context.Context, practiceID, ownerKind, ownerID string) (*LockedKey, error)

	// PutTeamGrant inserts or replaces the grant for (practice, staff, team key).
	PutTeamGrant(ctx context.Context, g *TeamGrant) error
	GetTeamGrant(ctx context.Context, practiceID, staffID, teamKeyID string) (*TeamGrant, error)
	ListTeamGrants(ctx context.Context, practiceID, teamKeyID string) ([]TeamGrant, error)
	// DeleteTeamGrants removes all of a staff member's grants.
	DeleteTeamGrants(ctx context.Context, practiceID, staffID string) (int64, error)

	CreateThread(ctx context.Context, t *Thread) error
	GetThread(ctx context.Context, practiceID, id string) (*Thread, error)
	// UpdateThread writes Category, Status, AssignedTo, LastActivity,
	// LastSender, StaffUnread, PatientUnread and LastNoticeAt.
	UpdateThread(ctx context.Context, t *Thread) error
	// ListThreads lists threads, most recent activity first.
	ListThreads(ctx context.Context, f ThreadFilter) ([]Thread, error)
	// LatestOpenThread is the patient's open thread with the most recent
	// activity; ErrNoRows when none.
	LatestOpenThread(ctx context.Context, practiceID, patientID string) (*Thread, error)

	// AddMessage stores a message; ErrConflict when (PracticeID, Via,
	// ProviderID) was stored before (ProviderID not empty).
	AddMessage(ctx context.Context, m *SecureMessage) error
	GetMessage(ctx context.Context, practiceID, id string) (*SecureMessage, error)
	// ListMessages lists a thread's messages oldest first, after afterID.
	ListMessages(ctx context.Context, practiceID, threadID, afterID string, limit int) ([]SecureMessage, error)
}
