package hub

import "time"

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
	// SenderUnverified marks an email reply whose From address is neither
	// the patient's nor their guardian's: the reply token is genuine, but
	// the message may come from someone the notice was forwarded to.
	SenderUnverified bool
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
