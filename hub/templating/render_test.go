package templating

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/karerehub/karere/hub"
	"github.com/karerehub/karere/templates"
)

// TestRenderErrorClassification: going over a size limit fails the
// delivery for good (render_too_large); running out of time is retried;
// any other render failure is render_failed. Staff see the template's
// reason.
func TestRenderErrorClassification(t *testing.T) {
	big := templates.Template{Kind: templates.KindNotice, Channel: templates.ChannelPortal, Locale: templates.LocaleEnNZ,
		Body: strings.Repeat("{{.Text}}", 10)}
	_, tooLarge := templates.Render(big, templates.Data{Text: strings.Repeat("🌿", templates.MaxTextChars)})
	if !errors.Is(tooLarge, templates.ErrTooLarge) {
		t.Fatalf("Render = %v, want ErrTooLarge", tooLarge)
	}
	tests := []struct {
		name      string
		err       error
		permanent string // "" for temporary
		text      string // hub.ErrorText
	}{
		{"too large", tooLarge, ReasonRenderTooLarge, "render_too_large: body: too long: over 16384 bytes, the limit for a portal message"},
		{"timeout", fmt.Errorf("body: %w", templates.ErrRenderTimeout), "", "temporary: render timed out"},
		{"other", errors.New("body line 1: unknown field .Pharmacist"), ReasonRenderFailed, "render_failed: body line 1: unknown field .Pharmacist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := renderError(tt.err)
			reason := "temporary"
			var pe *hub.PermanentError
			if errors.As(err, &pe) {
				reason = pe.Reason
				err = pe.Err
			}
			if tt.permanent == "" && reason != "temporary" || tt.permanent != "" && reason != tt.permanent {
				t.Errorf("reason %q, want %q", reason, tt.permanent)
			}
			if got := hub.ErrorText(reason, err); got != tt.text {
				t.Errorf("ErrorText = %q, want %q", got, tt.text)
			}
		})
	}
}
