package hub

import (
	"errors"
	"fmt"
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

// ErrorKind says what sort of failure an Error is, independently of how
// an adapter shows it: hub/api and hub/inbox each map kinds to HTTP
// statuses in one place. The core never speaks HTTP.
type ErrorKind uint8

// Error kinds.
const (
	KindInternal      ErrorKind = iota // a fault of Karere or a backing service: nothing the caller can mend
	KindInvalid                        // malformed input, naming the field
	KindUnauthorized                   // missing or wrong credentials
	KindForbidden                      // these credentials may not do this
	KindNotFound                       // no such record (also another practice's)
	KindConflict                       // the record changed or exists already; retry or choose another
	KindTooLarge                       // the input is larger than accepted
	KindUnsupported                    // a media type the endpoint does not take
	KindUnprocessable                  // well-formed input the hub cannot act on now
	KindRateLimited                    // too many requests: slow down
	KindUnavailable                    // a backing service is down: retry shortly
)

var kindNames = [...]string{"internal", "invalid", "unauthorized", "forbidden", "not_found", "conflict",
	"too_large", "unsupported", "unprocessable", "rate_limited", "unavailable"}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", k)
}

// Error is an error the caller may see: a kind, a stable machine-readable
// code, a human message and, for bad input, the field. A code names one
// condition and always has the same kind (see the catalog below and the
// constructors' callers).
type Error struct {
	Kind    ErrorKind
	Code    string
	Message string
	Field   string
	// RetryAfter, for KindRateLimited and KindUnavailable, is how long the
	// caller should wait before trying again (adapters send it as
	// Retry-After); zero leaves the adapter's default.
	RetryAfter time.Duration
	Err        error // the cause, never shown
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrX) true for any *Error with ErrX's kind and
// code, so a copy of a catalog error still matches it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// E makes an Error of kind with a formatted message.
func E(kind ErrorKind, field, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid is bad input naming the field that is wrong.
func Invalid(field, code, format string, args ...any) *Error {
	return E(KindInvalid, field, code, format, args...)
}

// Unprocessable is well-formed input the hub cannot act on.
func Unprocessable(field, code, format string, args ...any) *Error {
	return E(KindUnprocessable, field, code, format, args...)
}

// NotFound is a missing record of a kind ("patient", "delivery"...). The
// same answer is given for a record of another practice.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: what + " not found", Err: ErrNoRows}
}

// Conflict is a change that collided with another.
func Conflict(code, format string, args ...any) *Error {
	return E(KindConflict, "", code, format, args...)
}

// WithRetryAfter returns a copy of e that tells the caller to wait d.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// Catalog of errors without parameters.
var (
	ErrUnauthorized = &Error{Kind: KindUnauthorized, Code: "unauthorized",
		Message: "missing or invalid credentials: send Authorization: Bearer <api key>"}
	ErrForbidden = &Error{Kind: KindForbidden, Code: "forbidden",
		Message: "these credentials may not do this"}
	ErrTooLarge = &Error{Kind: KindTooLarge, Code: "body_too_large",
		Message: "request body is larger than this endpoint accepts"}
	ErrRateLimited = &Error{Kind: KindRateLimited, Code: "rate_limited",
		Message: "too many requests: slow down and retry after the time in Retry-After"}
	ErrIdempotencyReused = &Error{Kind: KindUnprocessable, Code: "idempotency_key_reused",
		Message: "this Idempotency-Key was used with a different request"}
	ErrIdempotencyInFlight = &Error{Kind: KindConflict, Code: "idempotency_in_progress",
		Message: "a request with this Idempotency-Key is still being processed: retry shortly"}
	ErrUnavailable = &Error{Kind: KindUnavailable, Code: "unavailable",
		Message: "a backing service is unavailable: retry shortly"}

	// ErrNoTeamKey: the practice has no team key, so nothing can be
	// encrypted to it yet.
	ErrNoTeamKey = &Error{Kind: KindUnprocessable, Code: "no_team_key",
		Message: "the practice has no team key yet (karere team init)"}
	// ErrNoPatientKey: the patient has registered no key.
	ErrNoPatientKey = &Error{Kind: KindUnprocessable, Code: "no_patient_key",
		Message: "the patient has no key registered: the portal registers one at sign-up (PUT /v1/patients/{id}/key)"}
)

// AsError returns err as an *Error; an unknown error becomes an internal
// error that says nothing about its cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrNoRows) {
		return NotFound("record")
	}
	return &Error{Kind: KindInternal, Code: "internal", Message: "internal error", Err: err}
}

// KindOf is the kind of err (KindInternal for an error that is no *Error).
func KindOf(err error) ErrorKind { return AsError(err).Kind }
