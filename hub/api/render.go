package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// statuses maps the core's error kinds to HTTP statuses: the one place
// the API decides them.
var statuses = map[hub.ErrorKind]int{
	hub.KindInternal:      http.StatusInternalServerError,
	hub.KindInvalid:       http.StatusBadRequest,
	hub.KindUnauthorized:  http.StatusUnauthorized,
	hub.KindForbidden:     http.StatusForbidden,
	hub.KindNotFound:      http.StatusNotFound,
	hub.KindConflict:      http.StatusConflict,
	hub.KindTooLarge:      http.StatusRequestEntityTooLarge,
	hub.KindUnsupported:   http.StatusUnsupportedMediaType,
	hub.KindUnprocessable: http.StatusUnprocessableEntity,
	hub.KindRateLimited:   http.StatusTooManyRequests,
	hub.KindUnavailable:   http.StatusServiceUnavailable,
}

// Status is the HTTP status of an error of kind k.
func Status(k hub.ErrorKind) int {
	if st, ok := statuses[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// writeError renders any error as the API's error shape.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := hub.AsError(err)
	status := Status(e.Kind)
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && e.RetryAfter > 0) {
		w.Header().Set("Retry-After", RetryAfterSeconds(e.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="karere"`)
	}
	writeJSON(w, status, errorBody{errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// decode reads one JSON object into v, refusing unknown fields, trailing
// data and bodies over limit.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &hub.Error{Kind: hub.KindUnsupported, Code: "unsupported_media_type",
			Message: "send the body as application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return hub.ErrTooLarge
		}
		return hub.Invalid("", "unreadable_body", "could not read the request body")
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return hub.Invalid("", "empty_body", "the request needs a JSON body")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return hub.Invalid("", "malformed_json", "malformed JSON at byte %d: %s", se.Offset, se.Error())
		case errors.As(err, &te):
			return hub.Invalid(te.Field, "invalid_type", "%s: expected %s, got JSON %s", te.Field, te.Type.String(), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return hub.Invalid(f, "unknown_field", "%s: unknown field", f)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return hub.Invalid("", "malformed_json", "malformed JSON: unexpected end of input")
		default:
			return hub.Invalid("", "malformed_json", "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return hub.Invalid("", "malformed_json", "malformed JSON: data after the object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return hub.Invalid("", "malformed_json", "malformed JSON: data after the object")
	}
	return nil
}

func badQuery(field, format string, args ...any) error {
	return hub.Invalid(field, "invalid_query", "%s: %s", field, fmt.Sprintf(format, args...))
}
