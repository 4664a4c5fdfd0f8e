package templates

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one Render may produce and how long it may run. A
// template is a small program that a practice writes and every send and
// preview runs, so these bound its cost whatever it says.
const (
	// MaxFormatWidth bounds the width and precision of a printf verb, as in
	// "%-20s", "%.3s" or "%02d": wider than any column a plain-text email
	// lines up, yet a verb adds at most this many bytes. Without it
	// "%01000000d" prints a million zeros from ten bytes of template.
	MaxFormatWidth = 64

	// MaxSMSBytes bounds SMS text. The practice's segment limit, not this,
	// decides what is sent: ten segments, the most a practice may allow,
	// are at most 3,060 bytes. The cap stops a template before its text is
	// measured, and leaves room for a notice's whole text (2,000
	// characters, at most 8,000 bytes), so that a long notice is refused
	// for its segments rather than its size.
	MaxSMSBytes = 16 << 10

	// MaxPortalBytes bounds portal text: twice a notice's whole text in
	// bytes, since the portal shows a notice in full with wording around it.
	MaxPortalBytes = 16 << 10

	// MaxSubjectBytes bounds an email subject: RFC 5322 (section 2.1.1)
	// limits a header line to 998 characters, and Render makes the subject
	// one line.
	MaxSubjectBytes = 998

	// MaxEmailTextBytes bounds the plain-text email body: eight times a
	// notice's whole text, and far more than anything a practice writes.
	MaxEmailTextBytes = 64 << 10

	// MaxEmailHTMLBytes bounds the HTML email body. Escaping can make a
	// value five times longer ("&" is "&amp;") and practices add inline
	// styles, so it is four times the plain-text cap.
	MaxEmailHTMLBytes = 256 << 10

	// MaxRenderTime bounds one Render, all parts together. A default
	// renders in tens of microseconds, so only a template built to run
	// long comes near it.
	MaxRenderTime = 100 * time.Millisecond
)

var (
	// ErrTooLarge is wrapped by the *ValidationError Render (and Validate)
	// returns when a part of the message, or a value a template computes on
	// the way, goes over its byte limit.
	ErrTooLarge = errors.New("templates: rendered message too large")

	// ErrRenderTimeout is wrapped by the *ValidationError Render (and
	// Validate) returns when rendering runs past MaxRenderTime.
	ErrRenderTimeout = errors.New("templates: render took too long")
)

// MaxTextChars is the longest notice text (Data.Text) in characters that
// the hub accepts (hub/delivery.MaxNoticeText, kept equal by a test
// there): Validate checks templates against a text this long.
const MaxTextChars = 2000

// limitOf returns the byte limit of part field of a template for channel,
// and what the limit is for, as a ValidationError says it.
func limitOf(channel, field string) (int, string) {
	switch {
	case field == fieldSubject:
		return MaxSubjectBytes, "an email subject"
	case field == fieldHTML:
		return MaxEmailHTMLBytes, "an HTML email"
	case channel == ChannelEmail:
		return MaxEmailTextBytes, "a plain-text email"
	case channel == ChannelPortal:
		return MaxPortalBytes, "a portal message"
	}
	return MaxSMSBytes, "an SMS"
}

// A budget is what one part of a message may use while it renders: the
// template executes into it (it is the io.Writer) and its functions are
// bound to it (see funcs). Every write and every call checks the byte
// limit and the deadline, so a template stops at the first byte over,
// rather than rendering 100 MB and then being measured.
type budget struct {
	max      int    // bytes of output, and of any one computed value
	what     string // what max is for: "an SMS"
	deadline time.Time
	out      strings.Builder
}

func newBudget(channel, field string, deadline time.Time) *budget {
	max, what := limitOf(channel, field)
	return &budget{max: max, what: what, deadline: deadline}
}

// Write keeps p, or refuses it whole if it would take the output over the
// limit or the deadline has passed.
func (b *budget) Write(p []byte) (int, error) {
	if err := b.check(b.out.Len() + len(p)); err != nil {
		return 0, err
	}
	return b.out.Write(p)
}

// check refuses n bytes of output or of a value when n is over the limit,
// and any more work once the deadline has passed.
func (b *budget) check(n int) error {
	if n > b.max {
		return &limitError{fmt.Sprintf("too long: over %d bytes, the limit for %s", b.max, b.what), ErrTooLarge}
	}
	if time.Now().After(b.deadline) {
		return &limitError{fmt.Sprintf("took longer than %v to render", MaxRenderTime), ErrRenderTimeout}
	}
	return nil
}

// funcs returns the template functions, bound to b. Each checks the
// deadline and refuses a result longer than the part may be, so a
// template cannot build a huge value in a variable and never print it
// ({{$a = print $a $a}} doubles it). print and printf also refuse
// arguments that are already too long before formatting them: with the
// format rules (see checkFormat) each argument is formatted at most once,
// so one call allocates at most a few times the limit.
func (b *budget) funcs() map[string]any {
	return map[string]any{
		"upper": b.apply(strings.ToUpper),
		"lower": b.apply(strings.ToLower),
		// default returns def when val is empty or blank: {{.Clinician | default "your doctor"}}.
		"default": func(def, val string) (string, error) {
			if strings.TrimSpace(val) == "" {
				return b.value(def)
			}
			return b.value(val)
		},
		"print": func(args ...any) (string, error) {
			if err := b.check(argBytes(args)); err != nil {
				return "", err
			}
			return b.value(fmt.Sprint(args...))
		},
		"printf": func(format string, args ...any) (string, error) {
			if err := b.check(len(format) + argBytes(args)); err != nil {
				return "", err
			}
			return b.value(fmt.Sprintf(format, args...))
		},
	}
}

// funcs names the template functions for parsing and checking. They are
// never called: each Render binds a clone of the parsed template to its
// own budget.
var funcs = new(budget).funcs()

func (b *budget) apply(f func(string) string) func(string) (string, error) {
	return func(s string) (string, error) {
		if err := b.check(len(s)); err != nil {
			return "", err
		}
		return b.value(f(s))
	}
}

func (b *budget) value(s string) (string, error) {
	if err := b.check(len(s)); err != nil {
		return "", err
	}
	return s, nil
}

// argBytes is the size of print's or printf's arguments: a template's
// values are text, yes/no and numbers, and the latter print in at most 24
// bytes.
func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		if s, ok := a.(string); ok {
			n += len(s)
		} else {
			n += 24
		}
	}
	return n
}

// limitError is a budget running out; Render reports it as a
// *ValidationError that wraps err.
type limitError struct {
	reason string
	err    error // ErrTooLarge or ErrRenderTimeout
}

func (e *limitError) Error() string { return e.reason }
func (e *limitError) Unwrap() error { return e.err }

// checkFormat returns why a printf format is refused, or "". It refuses
// what could make one call's output large: a width or precision over
// MaxFormatWidth, one taken from an argument (*), and an argument index
// ([n]), which prints one argument as often as it is written
// ("%[1]s%[1]s%[1]s...").
func checkFormat(format string) string {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[j]) >= 0 {
			j++
		}
		_, size := utf8.DecodeRuneInString(format[j:])
		verb, spec := format[i:j+size], format[i+1:j]
		switch {
		case strings.Contains(spec, "*"):
			return fmt.Sprintf("printf verb %.24q takes its width or precision from an argument (*); write it as a number up to %d", verb, MaxFormatWidth)
		case strings.Contains(spec, "["):
			return fmt.Sprintf("printf verb %.24q has an argument index ([n]), which is not allowed", verb)
		}
		for _, num := range strings.FieldsFunc(spec, func(r rune) bool { return r < '0' || r > '9' }) {
			n := 0
			for _, d := range num {
				if n = n*10 + int(d-'0'); n > MaxFormatWidth {
					return fmt.Sprintf("printf verb %.24q: width or precision over %d", verb, MaxFormatWidth)
				}
			}
		}
		i = j // the verb; the loop steps past its first byte
	}
	return ""
}
