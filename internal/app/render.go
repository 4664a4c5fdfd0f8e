package app

import (
	"context"
	"fmt"
	"time"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/templates"
)

// templateRenderer renders hub messages with package templates: the
// practice's own template when it has one, else the built-in default in
// the patient's locale, else the en-NZ default.
type templateRenderer struct{}

var _ hub.Renderer = templateRenderer{}

func (templateRenderer) Render(ctx context.Context, practiceID, kind, channel, locale string, d hub.RenderData) (hub.Rendered, error) {
	t, ok := templates.Default(kind, channel, locale)
	if !ok {
		t, ok = templates.Default(kind, channel, templates.LocaleEnNZ)
	}
	if !ok {
		return hub.Rendered{}, fmt.Errorf("no template for %s on %s", kind, channel)
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil || d.TimeZone == "" {
		loc, _ = time.LoadLocation(hub.DefaultTimeZone)
	}
	data := templates.NewData(t.Locale, loc, templates.Facts{
		PatientFirstName: d.PatientFirstName, GuardianName: d.GuardianName, PracticeName: d.PracticeName,
		PracticePhone: d.PracticePhone, PortalURL: d.PortalURL, Start: d.Start, Clinician: d.Clinician,
		Location: d.Location, Pharmacy: d.Pharmacy, Pickup: d.Pickup, CollectBy: d.CollectBy, Text: d.Text,
	})
	r, err := templates.Render(t, data)
	if err != nil {
		return hub.Rendered{}, err
	}
	return hub.Rendered{Subject: r.Subject, Text: r.Text, HTML: r.HTML, Version: t.Version}, nil
}
