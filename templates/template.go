package templates

import (
	htmltemplate "html/template"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// Kinds of message.
const (
	KindAppointmentReminder     = "appointment_reminder"
	KindAppointmentConfirmation = "appointment_confirmation"
	KindAppointmentCancelled    = "appointment_cancelled"
	KindPrescriptionReady       = "prescription_ready"
	KindSecureMessageNotice     = "secure_message_notice"
	KindNotice                  = "notice" // a plain practice notice, typically {{.Text}}
)

// Channels a template can be written for.
const (
	ChannelSMS    = "sms"
	ChannelEmail  = "email"
	ChannelPortal = "portal"
)

// Built-in locales. Others may be added with any valid tag (see ValidLocale).
const (
	LocaleEnNZ = "en-NZ"
	LocaleMiNZ = "mi-NZ"
)

// Kinds lists every message kind.
func Kinds() []string {
	return []string{KindAppointmentReminder, KindAppointmentConfirmation, KindAppointmentCancelled,
		KindPrescriptionReady, KindSecureMessageNotice, KindNotice}
}

// Channels lists every channel a template can be written for.
func Channels() []string { return []string{ChannelSMS, ChannelEmail, ChannelPortal} }

// Locales lists the locales with built-in defaults.
func Locales() []string { return []string{LocaleEnNZ, LocaleMiNZ} }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Template is one message template: a kind, for one channel, in one locale.
// Subject and HTML are for email only; Body is the SMS text, the portal
// text or the plain-text email part. Version is assigned by the store (the
// built-in defaults are version 0).
type Template struct {
	Kind    string `json:"kind"`
	Channel string `json:"channel"`
	Locale  string `json:"locale"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	HTML    string `json:"html,omitempty"`
	Version int    `json:"version"`
}

// Rendered is a template filled in with Data.
type Rendered struct {
	Subject string `json:"subject,omitempty"` // one line (email only)
	Text    string `json:"text"`              // SMS, portal or plain-text email body
	HTML    string `json:"html,omitempty"`    // HTML email body, if the template has one
}

// locale tags: language, optional script, optional region, optional variants.
var localeRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$`)

// ValidLocale reports whether tag looks like a BCP 47 language tag of the
// form language[-Script][-REGION][-variant...], such as "en-NZ", "mi-NZ",
// "sm-WS", "zh-Hant-TW". Extensions and private-use subtags are not accepted.
func ValidLocale(tag string) bool { return localeRE.MatchString(tag) }

// CanonicalLocale returns tag in canonical case ("mi-nz" -> "mi-NZ",
// "zh-hant-tw" -> "zh-Hant-TW"), or false if tag is not valid.
func CanonicalLocale(tag string) (string, bool) {
	if !ValidLocale(tag) {
		return "", false
	}
	parts := strings.Split(tag, "-")
	parts[0] = strings.ToLower(parts[0])
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		switch {
		case len(p) == 4 && i == 1 && isAlpha(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		case len(p) == 2:
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-"), true
}

func isAlpha(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// allowedBuiltins are the text/template built-in functions templates may
// call. call, index, slice, html, js, urlquery and println are refused.
// Templates also have upper, lower and default; budget.funcs defines them
// and replaces print and printf with versions that keep to the render
// limits.
var allowedBuiltins = []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "print", "printf"}

func allowedFunc(name string) bool {
	_, ok := funcs[name]
	return ok || contains(allowedBuiltins, name)
}

// Render fills t in with d. It refuses (with a *ValidationError) a template
// that Validate would refuse for its structure; it does not check the SMS
// segment limit. Surrounding white space is trimmed from Text and Subject,
// and line breaks in Subject become spaces.
//
// Each part is limited in size (MaxSMSBytes and the like, for its channel)
// and the whole render in time (MaxRenderTime). Render stops at the first
// byte over, with a *ValidationError that wraps ErrTooLarge or
// ErrRenderTimeout, so callers can tell a template (or data) that is too
// big from one that is wrong.
func Render(t Template, d Data) (Rendered, error) {
	return render(t, d, time.Now().Add(MaxRenderTime))
}

func render(t Template, d Data, deadline time.Time) (Rendered, error) {
	if err := checkShape(t); err != nil {
		return Rendered{}, err
	}
	var r Rendered
	var err error
	if t.Channel == ChannelEmail {
		if r.Subject, err = renderText(fieldSubject, t.Subject, d, newBudget(t.Channel, fieldSubject, deadline)); err != nil {
			return Rendered{}, err
		}
		r.Subject = strings.Join(strings.Fields(r.Subject), " ")
	}
	if r.Text, err = renderText(fieldBody, t.Body, d, newBudget(t.Channel, fieldBody, deadline)); err != nil {
		return Rendered{}, err
	}
	r.Text = strings.TrimSpace(r.Text)
	if t.Channel == ChannelEmail && strings.TrimSpace(t.HTML) != "" {
		if r.HTML, err = renderHTML(t.HTML, d, newBudget(t.Channel, fieldHTML, deadline)); err != nil {
			return Rendered{}, err
		}
	}
	return r, nil
}

// parsed caches checked and parsed templates by their source: a template's
// text is its identity, so a cached parse can never be stale. Parsing and
// checking cost more than executing, and every send renders. A cached
// template is never executed: each render clones it and binds the clone's
// functions to its own budget (html/template escapes the clone when it
// first runs, some tens of microseconds for a default email).
var parsed struct {
	sync.Mutex
	m map[string]any // field + "\x00" + src -> *texttemplate.Template or *htmltemplate.Template
}

func cachedParse(field, src string, parse func() (any, error)) (any, error) {
	key := field + "\x00" + src
	parsed.Lock()
	t, ok := parsed.m[key]
	parsed.Unlock()
	if ok {
		return t, nil
	}
	t, err := parse()
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= 2000 {
		parsed.m = map[string]any{} // bounded: start over rather than grow
	}
	parsed.m[key] = t
	parsed.Unlock()
	return t, nil
}

func renderText(field, src string, d Data, b *budget) (string, error) {
	t, err := cachedParse(field, src, func() (any, error) {
		if err := check(field, src); err != nil {
			return nil, err
		}
		tmpl, err := texttemplate.New(field).Option("missingkey=error").Funcs(funcs).Parse(src)
		if err != nil {
			return nil, parseError(field, err)
		}
		return tmpl, nil
	})
	if err != nil {
		return "", err
	}
	tmpl, err := t.(*texttemplate.Template).Clone()
	if err != nil {
		return "", err
	}
	if err := tmpl.Funcs(b.funcs()).Execute(b, d); err != nil {
		return "", execError(field, err)
	}
	return b.out.String(), nil
}

func renderHTML(src string, d Data, b *budget) (string, error) {
	t, err := cachedParse(fieldHTML, src, func() (any, error) {
		if err := check(fieldHTML, src); err != nil {
			return nil, err
		}
		tmpl, err := htmltemplate.New(fieldHTML).Option("missingkey=error").Funcs(funcs).Parse(src)
		if err != nil {
			return nil, parseError(fieldHTML, err)
		}
		return tmpl, nil
	})
	if err != nil {
		return "", err
	}
	tmpl, err := t.(*htmltemplate.Template).Clone()
	if err != nil {
		return "", err // not reached: the cached template is never executed
	}
	if err := tmpl.Funcs(b.funcs()).Execute(b, d); err != nil {
		return "", execError(fieldHTML, err)
	}
	return b.out.String(), nil
}
