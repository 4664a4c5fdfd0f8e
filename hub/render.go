package hub

import (
	"context"
	"time"
)

// RenderData are the facts a message is rendered from. Times are shown in
// the practice's time zone.
type RenderData struct {
	PatientFirstName string
	GuardianName     string // set when a guardian receives the message
	PracticeName     string
	PracticePhone    string
	PortalURL        string
	TimeZone         string
	Start            time.Time // appointment start, or zero
	Clinician        string
	Location         string
	Pharmacy         string
	Pickup           string
	CollectBy        time.Time // or zero
	Text             string    // a plain notice's text
	// AsksConfirmation: the message asks "reply Y or N" (an SMS reminder
	// of a practice that wants confirmations).
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

// Renderer renders a kind of message for a channel and locale from the
// practice's templates (package templates, wired in internal/app). Like a
// channel, it classifies its errors: Permanent for a message that cannot be
// rendered, any other error (reading the templates) is retried.
type Renderer interface {
	Render(ctx context.Context, practiceID, kind, channel, locale string, d RenderData) (Rendered, error)
}

// RendererFunc adapts a function to Renderer.
type RendererFunc func(ctx context.Context, practiceID, kind, channel, locale string, d RenderData) (Rendered, error)

// Render calls f.
func (f RendererFunc) Render(ctx context.Context, practiceID, kind, channel, locale string, d RenderData) (Rendered, error) {
	return f(ctx, practiceID, kind, channel, locale, d)
}
