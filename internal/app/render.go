package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/templates"
)

// templateRenderer renders hub messages with package templates, from the
// template hub.ResolveTemplate picks: the practice's own in the patient's
// locale, else the built-in default in that locale, else the same in en-NZ.
//
// Resolved templates are kept for templateTTL: an edit reaches sends
// within that time (every delivery still records the version it used).
type templateRenderer struct {
	store hub.TemplateStore
	cache *resolvedCache
}

// templateTTL is how long a resolved template is reused before the store
// is asked again.
const templateTTL = 5 * time.Second

type resolvedCache struct {
	mu sync.Mutex
	m  map[string]resolved
}

type resolved struct {
	v       *hub.TemplateView
	expires time.Time
}

func (r templateRenderer) resolve(ctx context.Context, practiceID, kind, channel, locale string) (*hub.TemplateView, error) {
	if r.cache == nil {
		return hub.ResolveTemplate(ctx, r.store, practiceID, kind, channel, locale)
	}
	key := practiceID + "/" + kind + "/" + channel + "/" + locale
	now := time.Now()
	r.cache.mu.Lock()
	e, ok := r.cache.m[key]
	r.cache.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := hub.ResolveTemplate(ctx, r.store, practiceID, kind, channel, locale)
	if err != nil {
		return nil, err
	}
	r.cache.mu.Lock()
	if r.cache.m == nil || len(r.cache.m) > 10000 {
		r.cache.m = map[string]resolved{}
	}
	r.cache.m[key] = resolved{v: v, expires: now.Add(templateTTL)}
	r.cache.mu.Unlock()
	return v, nil
}

var _ hub.Renderer = templateRenderer{}

func (r templateRenderer) Render(ctx context.Context, practiceID, kind, channel, locale string, d hub.RenderData) (hub.Rendered, error) {
	v, err := r.resolve(ctx, practiceID, kind, channel, locale)
	if errors.Is(err, hub.ErrNoTemplate) {
		return hub.Rendered{}, hub.Permanent("render_failed", err)
	}
	if err != nil {
		return hub.Rendered{}, err // the store could not be read: retried
	}
	t := v.Template()
	loc := location(d.TimeZone)
	data := templates.NewData(t.Locale, loc, templates.Facts{
		PatientFirstName: d.PatientFirstName, GuardianName: d.GuardianName, PracticeName: d.PracticeName,
		PracticePhone: d.PracticePhone, PortalURL: d.PortalURL, Start: d.Start, Clinician: d.Clinician,
		Location: d.Location, Pharmacy: d.Pharmacy, Pickup: d.Pickup, CollectBy: d.CollectBy, Text: d.Text,
	})
	if !d.AsksConfirmation {
		data.ConfirmInstructions = "" // not a reminder, or the practice turned confirmations off
	}
	out, err := templates.Render(t, data)
	if err != nil {
		return hub.Rendered{}, hub.Permanent("render_failed", err)
	}
	return hub.Rendered{Subject: out.Subject, Text: out.Text, HTML: out.HTML, Version: t.Version}, nil
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
