package app

import (
	"context"
	"errors"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/templates"
)

// templateRenderer renders hub messages with package templates, from the
// template hub.ResolveTemplate picks: the practice's own in the patient's
// locale, else the built-in default in that locale, else the same in en-NZ.
type templateRenderer struct {
	store hub.TemplateStore
}

var _ hub.Renderer = templateRenderer{}

func (r templateRenderer) Render(ctx context.Context, practiceID, kind, channel, locale string, d hub.RenderData) (hub.Rendered, error) {
	v, err := hub.ResolveTemplate(ctx, r.store, practiceID, kind, channel, locale)
	if errors.Is(err, hub.ErrNoTemplate) {
		return hub.Rendered{}, hub.Permanent("render_failed", err)
	}
	if err != nil {
		return hub.Rendered{}, err // the store could not be read: retried
	}
	t := v.Template()
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil || d.TimeZone == "" {
		loc, _ = time.LoadLocation(hub.DefaultTimeZone)
	}
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
