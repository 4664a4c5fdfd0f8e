package hub

// SessionStore is the part of Store for staff web sessions (filled in by
// the inbox work).
type SessionStore interface {
}
