package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strconv"
	"strings"
)

// DefaultMaxSegments is the SMS size limit used when Validate is given 0 (a
// practice that has not set one). Four UCS-2 parts hold 268 characters: room
// for te reo Māori wording with long names, while stopping a template that
// would quietly cost five or more texts per patient. Every built-in SMS
// default needs at most 3 parts with the worst-case data.
const DefaultMaxSegments = 4

// Template parts named in a ValidationError.
const (
	fieldKind    = "kind"
	fieldChannel = "channel"
	fieldLocale  = "locale"
	fieldSubject = "subject"
	fieldBody    = "body"
	fieldHTML    = "html"
)

// ValidationError says what is wrong with a template and where. When a
// render limit was reached it wraps ErrTooLarge or ErrRenderTimeout, for
// errors.Is.
type ValidationError struct {
	Field  string `json:"field"`          // "body", "subject", "html" (or "kind", "channel", "locale")
	Line   int    `json:"line,omitempty"` // 1-based line in Field; 0 when it is about the whole field
	Reason string `json:"reason"`

	err error // ErrTooLarge, ErrRenderTimeout or nil
}

// Unwrap returns ErrTooLarge or ErrRenderTimeout when a render limit was
// reached, otherwise nil.
func (e *ValidationError) Unwrap() error { return e.err }

func (e *ValidationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.Field, e.Line, e.Reason)
	}
	return e.Field + ": " + e.Reason
}

func invalid(field string, line int, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks t before it is saved. It refuses, with a *ValidationError:
//   - an unknown kind or channel, or a malformed locale;
//   - a missing body, a subject or HTML part outside email, an email without a subject;
//   - parse errors, with their line;
//   - any field that is not in Data (.Pharmacist), with its line;
//   - {{template}}, {{define}}, {{block}} and {{range}}, and any function
//     other than upper, lower, default and the harmless built-ins
//     (and or not eq ne lt le gt ge len print printf);
//   - using the whole data set ({{.}} at the top level) instead of a field;
//   - anything that fails to render with SampleData (such as unsafe HTML);
//   - a printf whose format is not written in the template, or has a verb
//     wider or more precise than MaxFormatWidth, or one with * or [n];
//   - anything that goes over a render limit (MaxSMSBytes and the other
//     part limits, MaxRenderTime) with SampleData or with long worst-case
//     data: long names and a notice text of 2,000 four-byte characters.
//     The error wraps ErrTooLarge or ErrRenderTimeout;
//   - for SMS, text that needs more than maxSegments segments when rendered
//     with long worst-case data (long names with macrons, a guardian, the
//     longest month). maxSegments <= 0 means DefaultMaxSegments.
func Validate(t Template, maxSegments int) error {
	if err := checkShape(t); err != nil {
		return err
	}
	if _, err := Render(t, SampleData(t.Locale)); err != nil {
		return err
	}
	if _, err := Render(t, longData(t.Locale)); err != nil {
		var ve *ValidationError
		if errors.Is(err, ErrTooLarge) && errors.As(err, &ve) {
			ve.Reason += fmt.Sprintf(" with long sample data (a %d-character notice text)", MaxTextChars)
		}
		return err
	}
	if t.Channel != ChannelSMS {
		return nil
	}
	if maxSegments <= 0 {
		maxSegments = DefaultMaxSegments
	}
	r, err := Render(t, worstCaseData(t.Locale))
	if err != nil {
		return err
	}
	if m := Measure(r.Text); m.Segments > maxSegments {
		return invalid(fieldBody, 0, "too long for SMS: %d segments (%s, %d units) with long sample names, limit is %d",
			m.Segments, m.Encoding, m.Units, maxSegments)
	}
	return nil
}

// checkShape checks everything about t except the template syntax.
func checkShape(t Template) error {
	switch {
	case !contains(Kinds(), t.Kind):
		return invalid(fieldKind, 0, "unknown kind %q (want one of %s)", t.Kind, strings.Join(Kinds(), ", "))
	case !contains(Channels(), t.Channel):
		return invalid(fieldChannel, 0, "unknown channel %q (want one of %s)", t.Channel, strings.Join(Channels(), ", "))
	case !ValidLocale(t.Locale):
		return invalid(fieldLocale, 0, "%q is not a language tag such as en-NZ or mi-NZ", t.Locale)
	case strings.TrimSpace(t.Body) == "":
		return invalid(fieldBody, 0, "body is required")
	}
	if t.Channel != ChannelEmail {
		if t.Subject != "" {
			return invalid(fieldSubject, 0, "only email templates have a subject")
		}
		if t.HTML != "" {
			return invalid(fieldHTML, 0, "only email templates have an HTML part")
		}
		return nil
	}
	if strings.TrimSpace(t.Subject) == "" {
		return invalid(fieldSubject, 0, "email templates need a subject")
	}
	return nil
}

// template: NAME:LINE[:COL]: REASON
var errLineRE = regexp.MustCompile(`^template: [^:]*:(\d+):(?:\d+:)?\s*(.*)$`)

// parseError turns a text/template or html/template error into a
// *ValidationError, keeping its line.
func parseError(field string, err error) error {
	var he *htmltemplate.Error
	if errors.As(err, &he) {
		return invalid(field, he.Line, "%s", he.Description)
	}
	msg := err.Error()
	if m := errLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return invalid(field, line, "%s", m[2])
	}
	return invalid(field, 0, "%s", strings.TrimPrefix(msg, "template: "))
}

// execError reports a failure to render. A budget that ran out keeps its
// reason and sentinel, with the line text/template reports when the
// failing call was a function (a write has no line).
func execError(field string, err error) error {
	ve := parseError(field, err).(*ValidationError)
	ve.Reason = strings.TrimPrefix(ve.Reason, "executing \""+field+"\" ")
	var le *limitError
	if errors.As(err, &le) {
		ve.Reason, ve.err = le.reason, le.err
	}
	return ve
}
