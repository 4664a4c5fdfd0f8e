// Package templating is the practice's wording: a practice replaces the
// built-in wording of a kind of message, for one channel and locale, with
// its own. Every save is a new version, checked by templates.Validate
// first (fields that exist, allowed functions only, the practice's SMS
// segment limit). Render turns a delivery's facts into the text a channel
// sends, from the same template a preview shows. Package templates is a
// leaf library (it imports nothing of Karere), so this package uses it
// directly.
package templating

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/hub/audit"
	"github.com/karerehub/karere/internal/ttlcache"
	"github.com/karerehub/karere/templates"
)

// Store keeps practice templates (hub/store implements it). A practice's
// template for one (kind, channel, locale) is a list of versions 1, 2,
// 3...; the highest is current. Versions are never changed or deleted, so a
// delivery's TemplateVersion always names the wording it was sent with.
type Store interface {
	hub.Transactor
	// PutTemplate stores t as the next version of its (PracticeID, Kind,
	// Channel, Locale): it sets t.Version to the previous highest + 1 (1 for
	// the first), and fills in an empty ID and a zero Created. Concurrent
	// calls for the same key get distinct versions.
	PutTemplate(ctx context.Context, t *hub.PracticeTemplate) error
	// CurrentTemplate returns the highest version, or hub.ErrNoRows when
	// the practice has none for this key.
	CurrentTemplate(ctx context.Context, practiceID, kind, channel, locale string) (*hub.PracticeTemplate, error)
	// ListTemplateVersions lists the versions of one key, newest first
	// (limit 0: the store's default page size).
	ListTemplateVersions(ctx context.Context, practiceID, kind, channel, locale string, limit int) ([]hub.PracticeTemplate, error)
	// ListTemplates lists the current version of each of the practice's
	// templates, ordered by kind, channel and locale.
	ListTemplates(ctx context.Context, practiceID string) ([]hub.PracticeTemplate, error)
}

// SMSSettings gives a practice's SMS settings (for its segment limit);
// hub/settings implements it.
type SMSSettings interface {
	SMS(ctx context.Context, practiceID string) (*hub.SMSSettings, error)
}

// ResolvedTTL is how long a resolved template is reused by Render before
// the store is asked again: an edit reaches sends within that time (every
// delivery still records the version it used).
const ResolvedTTL = 5 * time.Second

// Service edits, previews and renders practice templates.
type Service struct {
	store    Store
	settings SMSSettings
	audit    *audit.Log
	now      func() time.Time
	resolved *ttlcache.Cache[*TemplateView]
}

// New returns a Service; now nil means time.Now.
func New(store Store, settings SMSSettings, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, settings: settings, audit: log, now: now, resolved: ttlcache.New[*TemplateView](ResolvedTTL)}
}

// Now is the Service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// Template limits.
const (
	// MaxTemplatePart bounds each part (subject, body, HTML) of a template:
	// room for an HTML email with inline styles. An SMS body is bounded far
	// earlier by the practice's segment limit.
	MaxTemplatePart = 32 << 10
	// MaxPreviewValue bounds one sample value given to a preview.
	MaxPreviewValue = 1000
)

// TemplateInput is the body of PUT /v1/templates/{kind}/{channel}/{locale}.
// Subject and HTML are for email only.
type TemplateInput struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	HTML    string `json:"html"`
}

// TemplateView is a template as the API shows it: a version the practice
// saved, or a built-in default (Default, Version 0, no ID).
type TemplateView struct {
	hub.PracticeTemplate
	Default bool
}

// Template returns v as a templates.Template.
func (v *TemplateView) Template() templates.Template {
	return templates.Template{Kind: v.Kind, Channel: v.Channel, Locale: v.Locale, Subject: v.Subject,
		Body: v.Body, HTML: v.HTML, Version: v.Version}
}

// PreviewInput is the body of POST /v1/templates/preview. Subject, Body
// and HTML, when given, are a draft laid over the current template (parts
// left out keep their current text); without any, the current template is
// previewed. Data replaces sample values by field name ("Clinician" or
// ".Clinician"): text for text fields, true or false for IsGuardian.
type PreviewInput struct {
	Kind    string         `json:"kind"`
	Channel string         `json:"channel"`
	Locale  string         `json:"locale"`
	Subject *string        `json:"subject"`
	Body    *string        `json:"body"`
	HTML    *string        `json:"html"`
	Data    map[string]any `json:"data"`
}

// Preview is a template rendered with sample data.
type Preview struct {
	// Template is what was rendered: a draft (Draft, Version 0), the
	// practice's current version, or a built-in default.
	Template TemplateView
	Draft    bool
	Rendered templates.Rendered
	// SMS is how the text would be sent (SMS only), and MaxSegments the
	// practice's limit that saving checks against.
	SMS         *templates.Segments
	MaxSegments int
}

// templateKey checks a (kind, channel, locale) named by a caller and
// returns the locale in canonical case. Each problem is a 400 naming the
// part that is wrong.
func templateKey(kind, channel, locale string) (string, error) {
	switch {
	case kind == "":
		return "", hub.Invalid("kind", "missing_field", "kind: required (one of %s)", strings.Join(templates.Kinds(), ", "))
	case !slices.Contains(templates.Kinds(), kind):
		return "", hub.Invalid("kind", "unknown_kind", "kind: unknown kind %q (one of %s)", clip(kind), strings.Join(templates.Kinds(), ", "))
	case channel == "":
		return "", hub.Invalid("channel", "missing_field", "channel: required (one of %s)", strings.Join(templates.Channels(), ", "))
	case !slices.Contains(templates.Channels(), channel):
		return "", hub.Invalid("channel", "unknown_channel", "channel: unknown channel %q (one of %s)", clip(channel), strings.Join(templates.Channels(), ", "))
	case locale == "":
		return "", hub.Invalid("locale", "missing_field", "locale: required (a language tag such as en-NZ or mi-NZ)")
	}
	canon, ok := templates.CanonicalLocale(locale)
	if !ok {
		return "", hub.Invalid("locale", "invalid_locale", "locale: %q is not a language tag such as en-NZ or mi-NZ", clip(locale))
	}
	return canon, nil
}

// clip shortens a caller's value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		s = strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// templateError turns a *templates.ValidationError into the API's 422
// invalid_template, naming the part and the line ("body line 2: unknown
// field .Pharmacist").
func templateError(err error) error {
	var ve *templates.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	e := hub.Unprocessable(ve.Field, "invalid_template", "%s", ve.Error())
	e.Err = err
	return e
}

// cleanPart normalises line breaks (a browser's textarea sends CRLF, and
// every CR would cost an SMS character) and checks the size and encoding.
func cleanPart(field, s string) (string, error) {
	if len(s) > MaxTemplatePart {
		return "", hub.Invalid(field, "template_too_long", "%s: at most %d bytes", field, MaxTemplatePart)
	}
	if !utf8.ValidString(s) {
		return "", hub.Invalid(field, "invalid_encoding", "%s: not valid UTF-8", field)
	}
	return strings.ReplaceAll(s, "\r\n", "\n"), nil
}

// validateTemplate runs templates.Validate with the practice's SMS segment
// limit (0, the templates default, when the practice has set none).
func (s *Service) validateTemplate(ctx context.Context, practiceID string, t templates.Template) (maxSegments int, err error) {
	if t.Channel == templates.ChannelSMS {
		st, err := s.settings.SMS(ctx, practiceID)
		if err != nil {
			return 0, err
		}
		if st != nil {
			maxSegments = st.MaxSegments
		}
	}
	if err := templates.Validate(t, maxSegments); err != nil {
		return maxSegments, templateError(err)
	}
	return maxSegments, nil
}

// PutTemplate saves the practice's template for kind, channel and locale as
// a new version, after checking it with templates.Validate. Saving the same
// text as the current version saves nothing and returns it, so a repeated
// PUT is harmless.
func (s *Service) PutTemplate(ctx context.Context, a hub.Actor, kind, channel, locale string, in TemplateInput) (*TemplateView, error) {
	locale, err := templateKey(kind, channel, locale)
	if err != nil {
		return nil, err
	}
	pt := &hub.PracticeTemplate{PracticeID: a.PracticeID, Kind: kind, Channel: channel, Locale: locale, CreatedBy: a.ID}
	for _, p := range []struct {
		field  string
		in     string
		stored *string
	}{{"subject", in.Subject, &pt.Subject}, {"body", in.Body, &pt.Body}, {"html", in.HTML, &pt.HTML}} {
		if *p.stored, err = cleanPart(p.field, p.in); err != nil {
			return nil, err
		}
	}
	v := &TemplateView{PracticeTemplate: *pt}
	if _, err := s.validateTemplate(ctx, a.PracticeID, v.Template()); err != nil {
		return nil, err
	}
	pt.Created = s.Now()
	err = hub.Tx(ctx, s.store, func(ctx context.Context) error {
		cur, err := s.store.CurrentTemplate(ctx, a.PracticeID, kind, channel, locale)
		switch {
		case err == nil && cur.Subject == pt.Subject && cur.Body == pt.Body && cur.HTML == pt.HTML:
			pt = cur
			return nil
		case err != nil && !errors.Is(err, hub.ErrNoRows):
			return err
		}
		if err := s.store.PutTemplate(ctx, pt); err != nil {
			return err
		}
		return s.audit.Record(ctx, a, "template.put", "", fmt.Sprintf("%s/%s/%s v%d", kind, channel, locale, pt.Version))
	})
	if err != nil {
		return nil, err
	}
	return &TemplateView{PracticeTemplate: *pt}, nil
}

// ErrNoTemplate: neither the practice nor the built-in defaults have a
// template for a kind and channel.
var ErrNoTemplate = errors.New("templating: no template")

// ResolveTemplate finds the template a patient with locale gets for kind
// on channel: the practice's own in that locale, else the built-in default
// in that locale, else the practice's own en-NZ, else the built-in en-NZ.
// An empty or malformed locale is en-NZ. The renderer that sends messages
// and the preview both use it, so a preview shows what would be sent.
func ResolveTemplate(ctx context.Context, st Store, practiceID, kind, channel, locale string) (*TemplateView, error) {
	loc, ok := templates.CanonicalLocale(locale)
	if !ok {
		loc = templates.LocaleEnNZ
	}
	locales := []string{loc}
	if loc != templates.LocaleEnNZ {
		locales = append(locales, templates.LocaleEnNZ)
	}
	for _, l := range locales {
		cur, err := st.CurrentTemplate(ctx, practiceID, kind, channel, l)
		if err == nil {
			return &TemplateView{PracticeTemplate: *cur}, nil
		}
		if !errors.Is(err, hub.ErrNoRows) {
			return nil, err
		}
		if t, ok := templates.Default(kind, channel, l); ok {
			return defaultView(practiceID, t), nil
		}
	}
	return nil, fmt.Errorf("%w for %s on %s", ErrNoTemplate, kind, channel)
}

func defaultView(practiceID string, t templates.Template) *TemplateView {
	return &TemplateView{Default: true, PracticeTemplate: hub.PracticeTemplate{PracticeID: practiceID, Kind: t.Kind,
		Channel: t.Channel, Locale: t.Locale, Subject: t.Subject, Body: t.Body, HTML: t.HTML}}
}

// GetTemplate returns the template the practice's patients with locale
// get for kind on channel (see ResolveTemplate): its Locale is the
// template's own, which is en-NZ for a locale with no template of its own.
func (s *Service) GetTemplate(ctx context.Context, a hub.Actor, kind, channel, locale string) (*TemplateView, error) {
	locale, err := templateKey(kind, channel, locale)
	if err != nil {
		return nil, err
	}
	return ResolveTemplate(ctx, s.store, a.PracticeID, kind, channel, locale)
}

// TemplateHistory lists the practice's saved versions of one template,
// newest first (none when it only ever used the default).
func (s *Service) TemplateHistory(ctx context.Context, a hub.Actor, kind, channel, locale string, limit int) ([]hub.PracticeTemplate, error) {
	locale, err := templateKey(kind, channel, locale)
	if err != nil {
		return nil, err
	}
	return s.store.ListTemplateVersions(ctx, a.PracticeID, kind, channel, locale, limit)
}

// ListTemplates lists, for every kind, channel and built-in locale, the
// practice's current version or else the default, followed by the
// practice's templates in other locales; ordered by kind, channel, locale.
func (s *Service) ListTemplates(ctx context.Context, a hub.Actor) ([]TemplateView, error) {
	saved, err := s.store.ListTemplates(ctx, a.PracticeID)
	if err != nil {
		return nil, err
	}
	type key struct{ kind, channel, locale string }
	have := make(map[key]bool, len(saved))
	out := make([]TemplateView, 0, len(saved)+len(templates.Kinds())*len(templates.Channels())*len(templates.Locales()))
	for _, t := range saved {
		have[key{t.Kind, t.Channel, t.Locale}] = true
		out = append(out, TemplateView{PracticeTemplate: t})
	}
	for _, k := range templates.Kinds() {
		for _, c := range templates.Channels() {
			for _, l := range templates.Locales() {
				if have[key{k, c, l}] {
					continue
				}
				if t, ok := templates.Default(k, c, l); ok {
					out = append(out, *defaultView(a.PracticeID, t))
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		if x.Channel != y.Channel {
			return x.Channel < y.Channel
		}
		return x.Locale < y.Locale
	})
	return out, nil
}

// PreviewTemplate renders a draft, or the current template, with sample
// data in the template's locale (and the caller's overrides). A draft is
// checked exactly as saving would check it, but nothing is saved.
func (s *Service) PreviewTemplate(ctx context.Context, a hub.Actor, in PreviewInput) (*Preview, error) {
	locale, err := templateKey(in.Kind, in.Channel, in.Locale)
	if err != nil {
		return nil, err
	}
	cur, err := ResolveTemplate(ctx, s.store, a.PracticeID, in.Kind, in.Channel, locale)
	if err != nil {
		return nil, err
	}
	pv := &Preview{Template: *cur}
	for _, p := range []struct {
		field  string
		in     *string
		target *string
	}{{"subject", in.Subject, &pv.Template.Subject}, {"body", in.Body, &pv.Template.Body}, {"html", in.HTML, &pv.Template.HTML}} {
		if p.in == nil {
			continue
		}
		if *p.target, err = cleanPart(p.field, *p.in); err != nil {
			return nil, err
		}
		pv.Draft = true
	}
	if pv.Draft {
		// A draft is written for the locale asked for, whichever template it
		// was laid over.
		pv.Template.PracticeTemplate = hub.PracticeTemplate{PracticeID: a.PracticeID, Kind: in.Kind, Channel: in.Channel,
			Locale: locale, Subject: pv.Template.Subject, Body: pv.Template.Body, HTML: pv.Template.HTML}
		pv.Template.Default = false
		if pv.MaxSegments, err = s.validateTemplate(ctx, a.PracticeID, pv.Template.Template()); err != nil {
			return nil, err
		}
	} else if in.Channel == templates.ChannelSMS {
		if st, err := s.settings.SMS(ctx, a.PracticeID); err != nil {
			return nil, err
		} else if st != nil {
			pv.MaxSegments = st.MaxSegments
		}
	}
	if pv.MaxSegments <= 0 {
		pv.MaxSegments = templates.DefaultMaxSegments
	}
	data, err := previewData(pv.Template.Locale, in.Data)
	if err != nil {
		return nil, err
	}
	if pv.Rendered, err = templates.Render(pv.Template.Template(), data); err != nil {
		return nil, templateError(err)
	}
	if in.Channel == templates.ChannelSMS {
		m := templates.Measure(pv.Rendered.Text)
		pv.SMS = &m
	}
	return pv, nil
}

// previewData is templates.SampleData with the caller's values laid over
// it. A new PatientFirstName is also the RecipientName unless that is
// given too or a guardian is receiving.
func previewData(locale string, over map[string]any) (templates.Data, error) {
	d := templates.SampleData(locale)
	known := map[string]bool{}
	for _, f := range templates.Fields() {
		known[strings.TrimPrefix(f.Name, ".")] = true
	}
	names := make([]string, 0, len(over))
	for name := range over {
		names = append(names, name)
	}
	sort.Strings(names) // the same error for the same input
	given := map[string]bool{}
	v := reflect.ValueOf(&d).Elem()
	for _, name := range names {
		field := "data." + clip(name)
		n := strings.TrimPrefix(name, ".")
		if !known[n] {
			return d, hub.Invalid(field, "unknown_field", "%s: not a template field (GET /v1/templates/fields lists them)", field)
		}
		f := v.FieldByName(n)
		switch f.Kind() {
		case reflect.String:
			s, ok := over[name].(string)
			if !ok {
				return d, hub.Invalid(field, "invalid_type", "%s: expected text", field)
			}
			if utf8.RuneCountInString(s) > MaxPreviewValue {
				return d, hub.Invalid(field, "value_too_long", "%s: at most %d characters", field, MaxPreviewValue)
			}
			f.SetString(s)
		case reflect.Bool:
			b, ok := over[name].(bool)
			if !ok {
				return d, hub.Invalid(field, "invalid_type", "%s: expected true or false", field)
			}
			f.SetBool(b)
		default:
			return d, hub.Invalid(field, "invalid_type", "%s: cannot be set", field)
		}
		given[n] = true
	}
	if given["PatientFirstName"] && !given["RecipientName"] && !d.IsGuardian {
		d.RecipientName = d.PatientFirstName
	}
	return d, nil
}

// Facts are what a message is rendered from: the facts templates formats
// (times in the practice's time zone), and whether the message asks for a
// Y/N answer (an SMS reminder of a practice that wants confirmations).
type Facts struct {
	templates.Facts
	TimeZone         string
	AsksConfirmation bool
}

// Rendered is a message ready for a channel.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	// Version of the practice template used; 0 for the built-in default.
	Version int
}

// Render renders kind for channel in locale from the template
// ResolveTemplate picks (the practice's own in the patient's locale, else
// the built-in default in that locale, else the same in en-NZ). A message
// that goes over the render size limits with this delivery's data (a
// template saved before the limits, or data longer than Validate assumed)
// is a hub.Permanent "render_too_large"; one that cannot be rendered for
// another reason is a hub.Permanent "render_failed". A render that ran out
// of time (templates.MaxRenderTime) and any other error (reading the
// templates) are worth retrying.
func (s *Service) Render(ctx context.Context, practiceID, kind, channel, locale string, f Facts) (Rendered, error) {
	v, err := s.resolve(ctx, practiceID, kind, channel, locale)
	if errors.Is(err, ErrNoTemplate) {
		return Rendered{}, hub.Permanent(ReasonRenderFailed, hub.Public(err))
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("templating: %w", err) // the store could not be read: retried
	}
	t := v.Template()
	data := templates.NewData(t.Locale, location(f.TimeZone), f.Facts)
	if !f.AsksConfirmation {
		data.ConfirmInstructions = "" // not a reminder, or the practice turned confirmations off
	}
	out, err := templates.Render(t, data)
	if err != nil {
		return Rendered{}, renderError(err)
	}
	return Rendered{Subject: out.Subject, Text: out.Text, HTML: out.HTML, Version: t.Version}, nil
}

// Reasons of a delivery that could not be rendered.
const (
	ReasonRenderTooLarge = "render_too_large"
	ReasonRenderFailed   = "render_failed"
)

// renderError classifies a templates.Render error for the delivery. The
// template errors' texts are Karere's (the part, the line, the limit), so
// staff see them.
func renderError(err error) error {
	switch {
	case errors.Is(err, templates.ErrTooLarge):
		return hub.Permanent(ReasonRenderTooLarge, hub.Public(err))
	case errors.Is(err, templates.ErrRenderTimeout):
		// A busy machine can be slow once: retried, and failed as
		// retries_exhausted if it never renders in time.
		return hub.PublicWrap("render timed out", err)
	}
	return hub.Permanent(ReasonRenderFailed, hub.Public(err))
}

// resolve is ResolveTemplate through the cache.
func (s *Service) resolve(ctx context.Context, practiceID, kind, channel, locale string) (*TemplateView, error) {
	key := practiceID + "/" + kind + "/" + channel + "/" + locale
	now := time.Now()
	if v, ok := s.resolved.Get(key, now); ok {
		return v, nil
	}
	v, err := ResolveTemplate(ctx, s.store, practiceID, kind, channel, locale)
	if err != nil {
		return nil, err
	}
	s.resolved.Put(key, v, now)
	return v, nil
}

// locations caches time zones: time.LoadLocation reads the zone database
// from disk on every call.
var locations sync.Map // name -> *time.Location

func location(name string) *time.Location {
	if name == "" {
		name = hub.DefaultTimeZone
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return location(hub.DefaultTimeZone)
	}
	locations.Store(name, l)
	return l
}
