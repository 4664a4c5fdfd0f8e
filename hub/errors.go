package hub

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error the API shows to its caller: an HTTP status, a stable
// machine-readable code, a human message and, for bad input, the field.
// Handlers return errors; one function in hub/api renders them.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	Err     error // the cause, never shown
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid is a 400 naming the field that is wrong.
func Invalid(field, code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422: well-formed input the hub cannot act on.
func Unprocessable(field, code, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 for a kind of record ("patient", "delivery"...). The
// same answer is given for a record of another practice.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found", Err: ErrNoRows}
}

// Conflict is a 409.
func Conflict(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Catalog of errors without parameters.
var (
	ErrUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "missing or invalid credentials: send Authorization: Bearer <api key>"}
	ErrForbidden = &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: "these credentials may not do this"}
	ErrTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
		Message: "request body is larger than this endpoint accepts"}
	ErrRateLimited = &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "too many requests: slow down and retry after the time in Retry-After"}
	ErrIdempotencyReused = &Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
		Message: "this Idempotency-Key was used with a different request"}
	ErrIdempotencyInFlight = &Error{Status: http.StatusConflict, Code: "idempotency_in_progress",
		Message: "a request with this Idempotency-Key is still being processed: retry shortly"}
	ErrUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Message: "a backing service is unavailable: retry shortly"}
)

// AsError returns err as an *Error; an unknown error becomes a 500 that
// says nothing about its cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrNoRows) {
		return NotFound("record")
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
}
